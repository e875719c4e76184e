"""The messages an app sends through message/send and appchat/send, checked once for both as
WeCom checks them: a JSON object of msgtype text, markdown or image, text and markdown with
content (cut to 2048 bytes of UTF-8, as WeCom cuts longer ones), an image with a media_id
the corp holds. What got through is kept as SentMessage records."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wecom_emulator.errors import Refused

MSGTYPES = ("text", "markdown", "image")
MAX_CONTENT_BYTES = 2048


@dataclass(frozen=True)
class Message:
    """A message body WeCom took: the JSON, its msgtype, and its text or its media_id."""

    body: dict[str, Any]
    msgtype: str
    content: str = ""
    media_id: str = ""


@dataclass(frozen=True)
class SentMessage:
    """One message delivered to one member (`touser`; a message to "a|b" gives two, same
    msgid) or to a group chat (`chatid`), by the app `agentid` of `corp_id` (for appchat/send,
    the app whose token sent it). An image has its `media_id` and no content."""

    corp_id: str
    agentid: int
    msgtype: str
    content: str
    media_id: str
    msgid: str = ""
    touser: str = ""
    chatid: str = ""


def read_message(raw: bytes, media_held: Callable[[str], bool]) -> Message:
    """The message in a request body; WeCom's refusal of it. `media_held` tells whether the
    sender's corp holds a media_id."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise Refused(47001) from None
    if not isinstance(body, dict):
        raise Refused(47001)
    msgtype = body.get("msgtype")
    part = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype not in MSGTYPES or not isinstance(part, dict):
        raise Refused(40008)
    if msgtype == "image":
        media_id = part.get("media_id")
        if not isinstance(media_id, str) or not media_held(media_id):
            raise Refused(40007)
        return Message(body, msgtype, media_id=media_id)
    content = part.get("content")
    if not isinstance(content, str) or not content:
        raise Refused(44004)
    cut = content.encode("utf-8")[:MAX_CONTENT_BYTES].decode("utf-8", errors="ignore")
    return Message(body, msgtype, content=cut)
