"""How WeCom answers a call it does not serve: HTTP 200 with an errcode and an errmsg that
names the caller's IP, as the real API does (WECOM.md); or, scripted, a failed HTTP answer.

The emulator's code raises these; each endpoint turns them into the answer (see
WeComEmulator.routes), so a refusal is one line where it is decided."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

# WeCom's errmsg for each code the emulator answers (developer.work.weixin.qq.com/devtool/query).
ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    44004: "empty content",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    60020: "not allow to access from your ip",
    60111: "userid not found",
    81013: "user & party & tag all invalid",
    86003: "chatid not exist",
    # A token used for an app other than the one whose secret fetched it.
    301002: "not allow operate another agent with this accesstoken.",
}


class Answered(Exception):
    """The call ends here, with `response(request)`."""

    def response(self, request: Request) -> Response:
        raise NotImplementedError


class Refused(Answered):
    """WeCom's refusal: `errcode`, WeCom's usual errmsg unless one is given, and any `extra`
    fields of the answer (message/send's `invaliduser`, say)."""

    def __init__(self, errcode: int, errmsg: str | None = None, **extra: Any):
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg
        self.extra = extra

    def response(self, request: Request) -> Response:
        errmsg = self.errmsg
        if errmsg is None:
            client_ip = request.client.host if request.client else "unknown"
            errmsg = (
                f"{ERRMSG.get(self.errcode, 'scripted failure')}, hint: [emulator], "
                f"from ip: {client_ip}, more info at "
                f"https://open.work.weixin.qq.com/devtool/query?e={self.errcode}"
            )
        return JSONResponse({"errcode": self.errcode, "errmsg": errmsg, **self.extra})


class HttpFailure(Answered):
    """An answer that is not WeCom's JSON at all: a proxy's 502, an outage's 503."""

    def __init__(self, status: int, text: str = "emulator: scripted HTTP failure"):
        super().__init__(status)
        self.status = status
        self.text = text

    def response(self, request: Request) -> Response:
        return PlainTextResponse(self.text, status_code=self.status)
