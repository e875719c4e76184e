"""The AI bot's long-connection frames as WeCom reads and writes them (WECOM.md, checked
against WeCom's SDK @wecom/aibot-node-sdk): what a client's frame must look like, and the
callbacks, events and acks WeCom sends. Written apart from the service's own reader, so each
side checks the other."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
SEND = "aibot_send_msg"
CLIENT_COMMANDS = (SUBSCRIBE, PING, RESPOND, RESPOND_WELCOME, SEND)

MAX_CONTENT_BYTES = 20480
MAX_FEEDBACK_ID_BYTES = 256
INVALID_BOT = 853000
INVALID_PARAMETER = 40058


class ShapeError(ValueError):
    """A client frame WeCom would refuse; the reason is what a test reads."""


def read_client_frame(raw: str) -> tuple[str, str, dict[str, Any]]:
    """(cmd, req_id, body) of a client's frame; raises ShapeError."""
    try:
        frame = json.loads(raw)
    except ValueError:
        raise ShapeError("a frame that is not JSON") from None
    if not isinstance(frame, dict):
        raise ShapeError("a frame that is not a JSON object")
    cmd, headers, body = frame.get("cmd"), frame.get("headers"), frame.get("body", {})
    if cmd not in CLIENT_COMMANDS:
        raise ShapeError(f"an unknown cmd {str(cmd)[:40]!r}")
    req_id = headers.get("req_id") if isinstance(headers, dict) else None
    if not isinstance(req_id, str) or not req_id:
        raise ShapeError(f"{cmd} without headers.req_id")
    if not isinstance(body, dict):
        raise ShapeError(f"{cmd} whose body is not an object")
    return cmd, req_id, body


def check_subscribe(body: dict[str, Any]) -> tuple[str, str]:
    bot_id, secret = body.get("bot_id"), body.get("secret")
    if not (isinstance(bot_id, str) and bot_id and isinstance(secret, str) and secret):
        raise ShapeError("aibot_subscribe without a bot_id and a secret")
    return bot_id, secret


def check_stream(body: dict[str, Any]) -> tuple[str, str, bool, str | None]:
    """(stream id, content, finish, feedback id) of an aibot_respond_msg stream frame."""
    stream = body.get("stream")
    if body.get("msgtype") != "stream" or not isinstance(stream, dict):
        raise ShapeError("aibot_respond_msg that is not msgtype stream with a stream object")
    stream_id, content = stream.get("id"), stream.get("content", "")
    finish, feedback = stream.get("finish", False), stream.get("feedback")
    if not isinstance(stream_id, str) or not stream_id:
        raise ShapeError("a stream frame without stream.id")
    if not isinstance(content, str) or _size(content) > MAX_CONTENT_BYTES:
        raise ShapeError(f"a stream frame whose content is not a string of ≤ {MAX_CONTENT_BYTES} B")
    if not isinstance(finish, bool):
        raise ShapeError("a stream frame whose finish is not a boolean")
    feedback_id = None
    if feedback is not None:
        feedback_id = feedback.get("id") if isinstance(feedback, dict) else None
        if not isinstance(feedback_id, str) or _size(feedback_id) > MAX_FEEDBACK_ID_BYTES:
            raise ShapeError("a stream frame whose feedback is not {id: ≤ 256 B}")
    return stream_id, content, finish, feedback_id


def check_welcome(body: dict[str, Any]) -> str:
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    if body.get("msgtype") != "text" or not isinstance(content, str) or not content:
        raise ShapeError("aibot_respond_welcome_msg that is not msgtype text with content")
    return content


def check_markdown(body: dict[str, Any]) -> tuple[str, str]:
    """(chatid, content) of an aibot_send_msg markdown message."""
    chat_id, markdown = body.get("chatid"), body.get("markdown")
    content = markdown.get("content") if isinstance(markdown, dict) else None
    if not isinstance(chat_id, str) or not chat_id:
        raise ShapeError("aibot_send_msg without a chatid")
    if body.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
        raise ShapeError("aibot_send_msg that is not msgtype markdown with content")
    if _size(content) > MAX_CONTENT_BYTES:
        raise ShapeError(f"aibot_send_msg markdown over {MAX_CONTENT_BYTES} bytes")
    return chat_id, content


def ack(req_id: str, errcode: int = 0, errmsg: str = "ok") -> str:
    return json.dumps({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg})


def callback(cmd: str, body: dict[str, Any]) -> tuple[str, str]:
    """A frame WeCom pushes, and its fresh req_id."""
    req_id = f"{cmd}_{secrets.token_hex(8)}"
    frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
    return req_id, json.dumps(frame, ensure_ascii=False)


def text_message(
    bot_id: str, user: str, content: str, msgid: str, chat_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "msgid": msgid, "aibotid": bot_id, "chattype": "group" if chat_id else "single",
        "from": {"userid": user}, "create_time": int(time.time()), "msgtype": "text",
        "text": {"content": content},
    }
    if chat_id:
        body["chatid"] = chat_id
    return body


def event(bot_id: str, user: str, eventtype: str, **detail: Any) -> dict[str, Any]:
    return {
        "msgid": f"ev-{secrets.token_hex(8)}", "create_time": int(time.time()),
        "aibotid": bot_id, "from": {"userid": user}, "msgtype": "event",
        "event": {"eventtype": eventtype, **detail},
    }


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
