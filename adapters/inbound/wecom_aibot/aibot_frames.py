"""The AI bot's long-connection frames (WECOM.md, "AI bot over a long connection"; every
field checked against WeCom's own SDK, @wecom/aibot-node-sdk): JSON text frames
`{"cmd", "headers": {"req_id"}, "body"}` out, WeCom's acks `{"headers": {"req_id"},
"errcode", "errmsg"}` and its callbacks in.

Frames in are read as strictly as the callback's JSON (wecom_aibot_json): bounded in size,
required fields present and of their type. What cannot be read raises BadFrame, whose reason
names the problem and never the frame's content.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.inbound.callback.callback_errors import MalformedCallback
from adapters.inbound.callback.callback_limits import MAX_NAME_CHARS
from adapters.inbound.wecom_aibot.wecom_aibot_json import message_id, read_message, sender
from application.channels.aibot.record_feedback import Feedback
from domain.messages import InboundMessage

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
SEND = "aibot_send_msg"
MESSAGE_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"

# Larger frames are skipped (WeCom's own are a few KiB: messages, events, acks).
MAX_FRAME_BYTES = 1 << 20
MAX_REQ_ID_CHARS = 128
# WeCom's refusal of a BotID and Secret at subscribe.
INVALID_BOT = 853000
# feedback_event's `type`: 1 accurate (👍), 2 inaccurate (👎), 3 either one withdrawn.
_RATINGS = {1: "good", 2: "bad", 3: "withdrawn"}
_MAX_COMMENT_CHARS = 2000
_MAX_REASONS = 16


class BadFrame(ValueError):
    """A frame that is not WeCom's: skipped, the link stays up."""


@dataclass(frozen=True)
class Ack:
    req_id: str
    errcode: int
    errmsg: str


@dataclass(frozen=True)
class MessageIn:
    """A member's message, or an event the pipeline answers (enter_chat)."""

    message: InboundMessage


@dataclass(frozen=True)
class FeedbackIn:
    feedback: Feedback


@dataclass(frozen=True)
class Replaced:
    """disconnected_event: a newer connection for this bot took over; this one is closed."""


@dataclass(frozen=True)
class Skipped:
    """A frame of WeCom's that needs nothing from this service (a template card event)."""

    what: str


Incoming = Ack | MessageIn | FeedbackIn | Replaced | Skipped


def new_req_id(cmd: str) -> str:
    """Unique per frame, in the SDK's shape: the command, milliseconds, random hex."""
    return f"{cmd}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def request(cmd: str, req_id: str, body: dict[str, Any] | None = None) -> str:
    frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
    if body is not None:
        frame["body"] = body
    return json.dumps(frame, ensure_ascii=False)


def subscribe_body(bot_id: str, secret: str) -> dict[str, Any]:
    return {"bot_id": bot_id, "secret": secret}


def stream_body(stream_id: str, content: str, finish: bool, feedback_id: str | None) -> dict:
    stream: dict[str, Any] = {"id": stream_id, "finish": finish, "content": content}
    if feedback_id:
        stream["feedback"] = {"id": feedback_id}
    return {"msgtype": "stream", "stream": stream}


def welcome_body(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def markdown_body(chat_id: str, content: str) -> dict[str, Any]:
    return {"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": content}}


def read_frame(raw: str | bytes, channel: str, clock: Callable[[], float]) -> Incoming:
    if len(raw) > MAX_FRAME_BYTES:  # characters or bytes: either way far over WeCom's own
        raise BadFrame(f"frame of {len(raw)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadFrame("frame is not JSON") from None
    if not isinstance(frame, dict):
        raise BadFrame("frame is not a JSON object")
    req_id = _req_id(frame)
    cmd = frame.get("cmd") or ""
    try:
        if cmd == MESSAGE_CALLBACK:
            return MessageIn(read_message(_body(frame), clock, channel, req_id=req_id))
        if cmd == EVENT_CALLBACK:
            return _event(_body(frame), channel, req_id, clock)
    except MalformedCallback as err:
        raise BadFrame(f"{cmd}: {err.reason}") from None
    if "errcode" in frame:
        return _ack(frame, req_id)
    raise BadFrame(f"unknown cmd '{str(cmd)[:MAX_NAME_CHARS]}'")


def _event(body: dict[str, Any], channel: str, req_id: str, clock) -> Incoming:
    event = body.get("event")
    kind = event.get("eventtype") if isinstance(event, dict) else None
    if not isinstance(kind, str) or not kind:
        raise BadFrame(f"{EVENT_CALLBACK}: event.eventtype is missing")
    if kind == "disconnected_event":
        return Replaced()
    if kind == "enter_chat":
        message = InboundMessage(
            msg_type="event", event=kind, from_user=sender(body), create_time=int(clock()),
            agent_id=0, msg_id=message_id(body), channel=channel, req_id=req_id,
        )
        return MessageIn(message)
    if kind == "feedback_event":
        return FeedbackIn(_feedback(body, event.get("feedback_event")))
    return Skipped(f"event {kind[:MAX_NAME_CHARS]}")


def _feedback(body: dict[str, Any], detail: Any) -> Feedback:
    if not isinstance(detail, dict):
        raise BadFrame("feedback_event has no feedback_event object")
    feedback_id, rating = detail.get("id"), _RATINGS.get(detail.get("type"))
    if not isinstance(feedback_id, str) or not feedback_id or rating is None:
        raise BadFrame("feedback_event needs an id and a type of 1, 2 or 3")
    comment = detail.get("content") or ""
    reasons = detail.get("inaccurate_reason_list") or []
    if not isinstance(comment, str) or not isinstance(reasons, list):
        raise BadFrame("feedback_event's content or inaccurate_reason_list has the wrong type")
    return Feedback(
        feedback_id=feedback_id[:MAX_REQ_ID_CHARS],
        from_user=sender(body),
        rating=rating,
        comment=comment[:_MAX_COMMENT_CHARS],
        reasons=tuple(r for r in reasons[:_MAX_REASONS] if type(r) is int),
        wecom_msg_id=message_id(body),
    )


def _ack(frame: dict[str, Any], req_id: str) -> Ack:
    errcode, errmsg = frame.get("errcode"), frame.get("errmsg", "")
    if type(errcode) is not int:
        raise BadFrame("errcode is not an integer")
    return Ack(req_id, errcode, errmsg[:200] if isinstance(errmsg, str) else "")


def _req_id(frame: dict[str, Any]) -> str:
    headers = frame.get("headers")
    req_id = headers.get("req_id") if isinstance(headers, dict) else None
    if not isinstance(req_id, str) or not req_id or len(req_id) > MAX_REQ_ID_CHARS:
        raise BadFrame(f"headers.req_id is missing or not 1 to {MAX_REQ_ID_CHARS} characters")
    return req_id


def _body(frame: dict[str, Any]) -> dict[str, Any]:
    body = frame.get("body")
    if not isinstance(body, dict):
        raise BadFrame(f"{frame.get('cmd')}: body is missing or not an object")
    return body
