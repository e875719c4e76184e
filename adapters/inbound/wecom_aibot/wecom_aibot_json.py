"""The AI bot's callback JSON (WECOM.md, "AI bot"): the signed envelope, the decrypted
message, and the encrypted passive reply.

Read as strictly as the app's XML: sizes bounded, required fields present and of the right
type, ids short enough for the store's columns. JSON has no entities to expand; nesting deep
enough to exhaust the parser is refused like any other malformed input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.inbound.callback.callback_checks import checked_user_id
from adapters.inbound.callback.callback_errors import CallbackTooLarge, MalformedCallback
from adapters.inbound.callback.callback_limits import (
    MAX_ENVELOPE_BYTES,
    MAX_FIELD_BYTES,
    MAX_NAME_CHARS,
)
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from application.channels.aibot.stream_board import StreamReply
from domain.messages import DEFAULT_AIBOT_CHANNEL, FILE, PICTURE, Attachment, InboundMessage
from domain.url_origins import TrustedOrigins

# A chat id and a user id both end up in one conversation id (a 255-character column, beside
# the channel's name and a lease's prefix); WeCom's own are at most 64 characters.
MAX_ID_CHARS = 80
# The msgid (about 30 characters of base64 from WeCom) is also the message index's MsgId,
# kept in a 64-character column, and the stream's id.
MAX_MSGID_CHARS = 64
MAX_URL_CHARS = 2048
# An item's aeskey is the base64 of 32 bytes (44 characters); anything longer is not one.
MAX_AESKEY_CHARS = 64
# More pictures than a prompt shows are never fetched; more than this are not even recorded.
MAX_PICTURES = 10
_MEDIA_TYPES = {"image": PICTURE, "file": FILE}
_CHAT_TYPES = ("single", "group")


@dataclass(frozen=True)
class StreamRefresh:
    """WeCom asks for the current content of a stream this service opened."""

    stream_id: str


@dataclass(frozen=True)
class NotAMessage:
    """A callback with nothing to answer (an event such as entering the chat): acknowledged,
    not recorded."""

    kind: str


def parse_envelope(body: bytes) -> str:
    """The `encrypt` of `{"encrypt": …}`: what the signature covers and what is decrypted."""
    if len(body) > MAX_ENVELOPE_BYTES:
        raise CallbackTooLarge(f"callback body exceeds {MAX_ENVELOPE_BYTES} bytes")
    envelope = _parse(body, "envelope")
    encrypt = envelope.get("encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise MalformedCallback("envelope has no encrypt")
    return encrypt


def parse_callback(
    plaintext: bytes,
    clock: Callable[[], float],
    response_origins: TrustedOrigins,
    channel: str = DEFAULT_AIBOT_CHANNEL,
) -> InboundMessage | StreamRefresh | NotAMessage:
    """The decrypted callback to the bot `channel`. The AI bot sends no time, so a message is
    stamped on arrival. Its response_url must point to one of `response_origins` (WeCom's API,
    or api_base_url)."""
    data = _parse(plaintext, "message")
    msg_type = _text(data, "msgtype", MAX_NAME_CHARS)
    if msg_type == "stream":
        return StreamRefresh(_text(_object(data, "stream"), "id", MAX_MSGID_CHARS))
    if msg_type == "event":
        event = data.get("event")
        kind = event.get("eventtype") if isinstance(event, dict) else None
        return NotAMessage(f"event {str(kind)[:MAX_NAME_CHARS]}")
    return read_message(data, clock, channel, response_origins=response_origins)


def read_message(
    data: dict[str, Any],
    clock: Callable[[], float],
    channel: str,
    *,
    response_origins: TrustedOrigins | None = None,
    req_id: str = "",
) -> InboundMessage:
    """A member's message to the bot, as the callback and the long connection both carry it.
    The callback's keeps its response_url (checked against `response_origins`); the long
    connection's keeps the frame's `req_id` instead, and answers without a response_url.
    Raises MalformedCallback."""
    msg_type = _text(data, "msgtype", MAX_NAME_CHARS)
    chat_type = _text(data, "chattype", MAX_NAME_CHARS)
    if chat_type not in _CHAT_TYPES:
        raise MalformedCallback("chattype is neither single nor group")
    return InboundMessage(
        msg_type=msg_type,
        from_user=sender(data),
        create_time=int(clock()),
        agent_id=0,
        msg_id=message_id(data),
        content=_content(data, msg_type),
        chat_id=_text(data, "chatid", MAX_ID_CHARS) if chat_type == "group" else "",
        channel=channel,
        response_url="" if response_origins is None else _response_url(data, response_origins),
        req_id=req_id,
        attachments=attachments(data, msg_type),
        quote=_quote(data),
    )


def sender(data: dict[str, Any]) -> str:
    return checked_user_id(_text(_object(data, "from"), "userid", MAX_ID_CHARS), "from.userid")


def message_id(data: dict[str, Any]) -> str:
    return _text(data, "msgid", MAX_MSGID_CHARS)


def passive_reply(crypto: WeComCrypto, reply: StreamReply, nonce: str, timestamp: str) -> bytes:
    """The encrypted answer to a callback: WeCom checks its signature over our timestamp and
    the callback's own nonce."""
    stream = {"id": reply.stream_id, "finish": reply.finish, "content": reply.content}
    plaintext = json.dumps({"msgtype": "stream", "stream": stream}, ensure_ascii=False)
    encrypted = crypto.encrypt(plaintext)
    envelope = {
        "encrypt": encrypted,
        "msgsignature": crypto.signature(timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return json.dumps(envelope).encode("ascii")


def _content(data: dict[str, Any], msg_type: str) -> str:
    """What the member said: typed, transcribed by WeCom (voice), or the text parts of a text
    and picture message (mixed). Pictures and files are its attachments."""
    if msg_type in ("text", "voice"):
        return _field(_object(data, msg_type), "content")
    if msg_type != "mixed":
        return ""
    texts = [
        _field(_object(item, "text"), "content")
        for item in _mixed_items(data)
        if item.get("msgtype") == "text"
    ]
    content = "\n".join(texts)
    if len(content.encode("utf-8")) > MAX_FIELD_BYTES:
        raise MalformedCallback(f"content exceeds {MAX_FIELD_BYTES} bytes")
    return content


def attachments(data: dict[str, Any], msg_type: str) -> tuple[Attachment, ...]:
    """The pictures and files of a message (image, file, the pictures of mixed) and of the
    message it quotes, each with its download URL and, over the long connection, its key."""
    found = _items(data, msg_type, quoted=False)
    quote = data.get("quote")
    if isinstance(quote, dict):
        found += _items(quote, _text(quote, "msgtype", MAX_NAME_CHARS), quoted=True)
    return found


def _items(data: dict[str, Any], msg_type: str, *, quoted: bool) -> tuple[Attachment, ...]:
    if msg_type in _MEDIA_TYPES:
        return (_attachment(_object(data, msg_type), _MEDIA_TYPES[msg_type], quoted),)
    if msg_type != "mixed":
        return ()
    pictures = [
        _attachment(_object(item, "image"), PICTURE, quoted)
        for item in _mixed_items(data)
        if item.get("msgtype") == "image"
    ]
    return tuple(pictures[:MAX_PICTURES])


def _attachment(part: dict[str, Any], kind: str, quoted: bool) -> Attachment:
    url = _text(part, "url", MAX_URL_CHARS)
    if not url.startswith(("https://", "http://")):
        raise MalformedCallback("a picture's or file's url is not an http(s) URL")
    aeskey = _field(part, "aeskey")
    if len(aeskey) > MAX_AESKEY_CHARS:
        raise MalformedCallback(f"aeskey is longer than {MAX_AESKEY_CHARS} characters")
    return Attachment(kind, url, aeskey=aeskey, quoted=quoted)


def _quote(data: dict[str, Any]) -> str:
    """The text of the message the member quoted ("" for a picture or a file, or none)."""
    quote = data.get("quote")
    if quote is None:
        return ""
    if not isinstance(quote, dict):
        raise MalformedCallback("quote is not an object")
    return _content(quote, _text(quote, "msgtype", MAX_NAME_CHARS))


def _response_url(data: dict[str, Any], origins: TrustedOrigins) -> str:
    url = data.get("response_url", "")
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        raise MalformedCallback(f"response_url is not a URL of at most {MAX_URL_CHARS} chars")
    if url and not url.startswith(("https://", "http://")):
        raise MalformedCallback("response_url is not an http(s) URL")
    if url and not origins.admits(url):
        # Never named in the log: a response_url is a credential (and may be a lure).
        raise MalformedCallback("response_url is not on WeCom's API origin (nor api_base_url's)")
    return url


def _mixed_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = _object(data, "mixed").get("msg_item")
    if not isinstance(items, list):
        raise MalformedCallback("mixed has no msg_item list")
    return [item for item in items if isinstance(item, dict)]


def _parse(data: bytes, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedCallback(f"{what} is not UTF-8") from None
    except (ValueError, RecursionError):
        raise MalformedCallback(f"{what} is not acceptable JSON") from None
    if not isinstance(parsed, dict):
        raise MalformedCallback(f"{what} is not a JSON object")
    return parsed


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise MalformedCallback(f"{key} is missing or not an object")
    return value


def _field(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise MalformedCallback(f"{key} is not a string")
    if len(value.encode("utf-8")) > MAX_FIELD_BYTES:
        raise MalformedCallback(f"{key} exceeds {MAX_FIELD_BYTES} bytes")
    return value


def _text(data: dict[str, Any], key: str, max_chars: int) -> str:
    value = _field(data, key)
    if not value:
        raise MalformedCallback(f"{key} is missing or empty")
    if len(value) > max_chars:
        raise MalformedCallback(f"{key} is longer than {max_chars} characters")
    return value
