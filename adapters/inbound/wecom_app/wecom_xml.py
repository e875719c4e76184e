"""WeCom callback XML: the signed envelope and the decrypted message, parsed defensively.

The envelope arrives unauthenticated, so it is read with DTDs and entities forbidden
(flat_xml); the decrypted message gets the same treatment because a leaked key would otherwise
reopen the door.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.inbound.callback.callback_checks import checked_user_id
from adapters.inbound.callback.callback_errors import CallbackTooLarge, MalformedCallback
from adapters.inbound.callback.callback_limits import (
    MAX_ENVELOPE_BYTES,
    MAX_FIELD_BYTES,
    MAX_NAME_CHARS,
)
from adapters.inbound.wecom_app.flat_xml import read_fields
from domain.messages import DEFAULT_APP_CHANNEL, PICTURE, Attachment, InboundMessage

# MsgId is an unsigned 64-bit integer: at most 20 digits.
_MAX_DIGITS = 20
# create_time and agent_id end up in signed 64-bit database columns.
_INT64_MAX = 2**63 - 1
# UTF-8 takes at most 4 bytes a character: a field this short cannot exceed MAX_FIELD_BYTES,
# so only longer ones are encoded to be measured.
_SHORT_FIELD_CHARS = MAX_FIELD_BYTES // 4

Fields = dict[str, str]


@dataclass(frozen=True)
class Envelope:
    """The POST body: `encrypt` is what the signature covers and what gets decrypted."""

    encrypt: str
    to_user: str
    agent_id: str


def parse_envelope(body: bytes) -> Envelope:
    if len(body) > MAX_ENVELOPE_BYTES:
        raise CallbackTooLarge(f"callback body exceeds {MAX_ENVELOPE_BYTES} bytes")
    fields = read_fields(body, "envelope")
    encrypt = fields.get("Encrypt")
    if not encrypt:
        raise MalformedCallback("envelope has no Encrypt")
    return Envelope(
        encrypt=encrypt,
        to_user=fields.get("ToUserName", ""),
        agent_id=fields.get("AgentID", ""),
    )


def parse_message(
    plaintext: bytes,
    expected_agent_id: int | None = None,
    channel: str = DEFAULT_APP_CHANNEL,
) -> InboundMessage:
    """Turn a decrypted callback to the app `channel` into the domain's message.

    Unknown MsgTypes pass through unchanged: WeCom adds types, and policy decides what to ignore.
    Some events carry no AgentID; they are attributed to the expected agent (0 if none).
    """
    fields = read_fields(plaintext, "message")
    msg_type = _name(fields, "MsgType", required=True)
    agent_text = _digits(fields, "AgentID", required=False)
    if not agent_text:
        agent_id = 0 if expected_agent_id is None else expected_agent_id
    else:
        agent_id = _int64("AgentID", agent_text)
        if expected_agent_id is not None and agent_id != expected_agent_id:
            raise MalformedCallback(
                f"AgentID {agent_id} is not the agent_id of {channel} ({expected_agent_id})"
            )
    media_id = _name(fields, "MediaId", required=False)
    # A picture is fetched by its MediaId (media/get): PicUrl expires.
    pictures = (Attachment(PICTURE, media_id),) if msg_type == "image" and media_id else ()
    return InboundMessage(
        msg_type=msg_type,
        from_user=checked_user_id(_name(fields, "FromUserName", required=True), "FromUserName"),
        create_time=_int64("CreateTime", _digits(fields, "CreateTime", required=True)),
        agent_id=agent_id,
        msg_id=_digits(fields, "MsgId", required=msg_type != "event"),
        content=_field(fields, "Content") if msg_type == "text" else "",
        chat_id=_name(fields, "ChatId", required=False),
        event=_name(fields, "Event", required=False) if msg_type == "event" else "",
        media_id=media_id,
        channel=channel,
        attachments=pictures,
    )


def _field(fields: Fields, tag: str) -> str:
    text = fields.get(tag, "")
    if len(text) > _SHORT_FIELD_CHARS and len(text.encode("utf-8")) > MAX_FIELD_BYTES:
        raise MalformedCallback(f"{tag} exceeds {MAX_FIELD_BYTES} bytes")
    return text


def _required(fields: Fields, tag: str) -> str:
    text = _field(fields, tag)
    if not text:
        raise MalformedCallback(f"{tag} is missing or empty")
    return text


def _name(fields: Fields, tag: str, *, required: bool) -> str:
    text = _required(fields, tag) if required else _field(fields, tag)
    if len(text) > MAX_NAME_CHARS:
        raise MalformedCallback(f"{tag} is longer than {MAX_NAME_CHARS} characters")
    return text


def _digits(fields: Fields, tag: str, *, required: bool) -> str:
    text = _required(fields, tag) if required else _field(fields, tag)
    # isascii() matters: int() would also accept other scripts' digits.
    if text and not (len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit()):
        raise MalformedCallback(f"{tag} is not a non-negative integer")
    return text


def _int64(tag: str, digits: str) -> int:
    value = int(digits)
    if value > _INT64_MAX:
        raise MalformedCallback(f"{tag} is out of range")
    return value
