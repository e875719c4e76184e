"""WeCom's response_url for AI bot replies, as a local server that records every POST.

Served with `tests.support.live_server.serve(standin.app)`; a reply's response_url is then
`<served>/cgi-bin/aibot/response?response_code=…`. Like WeCom, a response_code takes one
message: a second POST to it gets an errcode.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PATH = "/cgi-bin/aibot/response"
# Our stand-in's code for "this response_url was used already".
USED_ERRCODE = 600001


@dataclass(frozen=True)
class Posted:
    response_code: str
    body: dict[str, Any]


class AiBotResponseStandIn:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posted: list[Posted] = []
        self._scripted: deque[tuple[int, dict[str, Any]]] = deque()
        self.app = Starlette(routes=[Route(PATH, self._respond, methods=["POST"])])

    @property
    def posted(self) -> list[Posted]:
        with self._lock:
            return list(self._posted)

    def answer_next(self, status: int, answer: dict[str, Any], times: int = 1) -> None:
        """The next `times` POSTs get this answer and are not recorded as delivered."""
        with self._lock:
            self._scripted.extend([(status, answer)] * times)

    async def _respond(self, request: Request) -> Response:
        code = request.query_params.get("response_code", "")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"errcode": 40058, "errmsg": "invalid json"})
        with self._lock:
            if self._scripted:
                status, answer = self._scripted.popleft()
                return JSONResponse(answer, status_code=status)
            if any(p.response_code == code for p in self._posted):
                return JSONResponse({"errcode": USED_ERRCODE, "errmsg": "response_url used"})
            self._posted.append(Posted(code, body))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})
