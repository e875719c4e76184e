"""POST /admin/api/members/{userid}/erase: one member's content removed now, with who asked
(`{"requested_by": "…"}`, e.g. a name and a ticket number) recorded as an audit event."""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from application.operator.erase_member import EraseMember

log = logging.getLogger(__name__)

# WeCom's UserIDs are at most 64 characters; the body is one short field.
_MAX_USERID = 64
_MAX_REQUESTED_BY = 200
_MAX_BODY = 4096


class MembersApi:
    def __init__(self, erase: EraseMember):
        self._erase = erase

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/members/{userid}/erase", self.erase, methods=["POST"])]

    async def erase(self, request: Request) -> Response:
        member = request.path_params["userid"]
        if not member or len(member) > _MAX_USERID:
            return JSONResponse({"error": "no such member"}, 404)
        body = await request.body()
        try:
            requested_by = json.loads(body)["requested_by"] if len(body) <= _MAX_BODY else None
        except (ValueError, TypeError, KeyError):
            requested_by = None
        if not isinstance(requested_by, str) or not 0 < len(requested_by) <= _MAX_REQUESTED_BY:
            return JSONResponse(
                {"error": 'the body must be {"requested_by": "who asked"} (1-200 characters)'},
                400,
            )
        messages = await self._erase(member, requested_by)
        if messages is None:
            return JSONResponse({"error": f"no messages from {member!r} are recorded"}, 404)
        log.warning(
            "content of %r's %d message(s) removed, as %r asked", member, messages, requested_by
        )
        return JSONResponse({"member": member, "messages": messages})
