"""The operator's view as JSON: each message with its status and a timeline of its events,
every event with a one-line summary in plain words (Chinese first, then English) beside its
recorded fields. Events hold what members said and what was answered; the credentials among
them are shown only as hidden: an AI bot message's response_url (whoever holds it may post
into the chat for an hour), and where a picture or file came from (a bot's download URL is
signed, its aeskey decrypts the download)."""

from __future__ import annotations

import dataclasses
from typing import Any

from application.operator.operator_view import (
    ChannelReport,
    ConversationSummary,
    ErrorReport,
    MessageReport,
    TokenReport,
)
from domain.events import (
    AnswerComposed,
    DeliveryFailed,
    DeliveryPostponed,
    Event,
    FeedbackGiven,
    FileRead,
    ImageComposed,
    MemberErased,
    MemoryCleared,
    MessageIgnored,
    MessageReceived,
    ModelUsed,
    NoticeComposed,
    PictureSeen,
    ReplyDelivered,
    ReplyPartSent,
    VoiceTranscribed,
)
from domain.messages import channel_of

_BASE_FIELDS = {field.name for field in dataclasses.fields(Event)}
_QUOTED_CHARS = 120
HIDDEN = "[hidden: a credential]"


def message_json(report: MessageReport) -> dict[str, Any]:
    entry, outcome = report.entry, report.outcome
    return {
        "msg_id": entry.msg_id,
        "stream_id": entry.stream_id,
        "conversation_id": entry.conversation_id,
        "from_user": entry.from_user,
        "received_at": entry.occurred_at,
        "position": entry.position,
        "status": outcome.status,
        "why": outcome.why,
        "reply": outcome.reply,
        "parts": outcome.parts,
        "sent_parts": outcome.sent_parts,
        "events": [event_json(event) for event in report.events],
    }


def event_json(event: Event) -> dict[str, Any]:
    detail = {
        name: value
        for name, value in dataclasses.asdict(event).items()
        if name not in _BASE_FIELDS
    }
    message = detail.get("message")
    if isinstance(message, dict) and message.get("response_url"):
        message["response_url"] = HIDDEN
    for attachment in detail.get("message", {}).get("attachments", ()):
        attachment["ref"] = HIDDEN  # a bot's URL is signed: whoever has it may download
        if attachment["aeskey"]:
            attachment["aeskey"] = HIDDEN
    return {
        "type": type(event).__name__,
        "version": event.version,
        "at": event.occurred_at,
        "summary": summary(event),
        "detail": detail,
    }


def conversation_json(summary: ConversationSummary) -> dict[str, Any]:
    return {
        "conversation_id": summary.conversation_id,
        "channel": channel_of(summary.conversation_id),
        "last_position": summary.last_position,
        "last_at": summary.last_at,
        "messages": summary.messages,
        "senders": list(summary.senders),
        "chat_id": summary.chat_id,
        "title": summary.title,
        "sender_names": list(summary.sender_names),
    }


def errors_json(report: ErrorReport) -> dict[str, Any]:
    return {
        "looked_at": report.looked_at,
        "since": report.since,
        "errors": [dataclasses.asdict(count) for count in report.counts],
    }


def channel_json(report: ChannelReport) -> dict[str, Any]:
    token = None if report.token is None else token_json(report.token)
    link = None if report.link is None else dataclasses.asdict(report.link)
    return {"name": report.name, "token": token, "link": link}


def token_json(report: TokenReport) -> dict[str, Any]:
    # Only times and the reason of a failed fetch (already free of secrets): never the token.
    return {
        "valid_until": report.valid_until,
        "seconds_left": None if report.seconds_left is None else round(report.seconds_left),
        "last_error": report.last_error,
    }


def summary(event: Event) -> str:
    if isinstance(event, MessageReceived):
        return _received(event)
    if isinstance(event, MessageIgnored):
        return f"不回答 ignored: {event.reason}"
    if isinstance(event, MemoryCleared):
        return "清除记忆 memory cleared"
    if isinstance(event, PictureSeen):
        return f"看到图片 picture seen, {event.width}x{event.height}"
    if isinstance(event, FileRead):
        return f"读取文件 file read: {event.name}, {event.size:,} bytes"
    if isinstance(event, VoiceTranscribed):
        return f"语音转文字 transcribed: 「{_quote(event.transcript)}」"
    if isinstance(event, MemberErased):
        return (
            f"删除内容 erased the content of {event.member}'s {event.messages} message(s), "
            f"as {event.requested_by} asked"
        )
    if isinstance(event, ModelUsed):
        return f"用量 model used: {_usage(event)}"
    if isinstance(event, AnswerComposed):
        return f"生成回答 answer composed, {_parts(len(event.parts))}"
    if isinstance(event, NoticeComposed):
        return f"生成通知 notice composed ({event.reason}), {_parts(len(event.parts))}"
    if isinstance(event, ImageComposed):
        return f"生成图片 picture composed for 「{_quote(event.prompt)}」"
    if isinstance(event, ReplyPartSent):
        return f"已发送 sent part {event.index + 1}"
    if isinstance(event, DeliveryPostponed):
        wait = max(0.0, event.retry_at - event.occurred_at)
        return f"推迟 postponed part {event.index + 1}, retry in {wait:.0f}s: {event.reason}"
    if isinstance(event, ReplyDelivered):
        return "已送达 delivered"
    if isinstance(event, DeliveryFailed):
        return f"发送失败 failed at part {event.index + 1}: {event.reason}"
    if isinstance(event, FeedbackGiven):
        return _feedback(event)
    return type(event).__name__


_RATINGS = {"good": "👍 赞 good", "bad": "👎 踩 bad", "withdrawn": "撤回评价 withdrawn"}


def _feedback(event: FeedbackGiven) -> str:
    said = f": 「{_quote(event.comment)}」" if event.comment else ""
    rating = _RATINGS.get(event.rating, event.rating)
    return f"反馈 feedback from {event.from_user}: {rating}{said}"


def _received(event: MessageReceived) -> str:
    message = event.message
    where = f" in group {message.chat_id}" if message.chat_id else ""
    head = f"收到 received {message.msg_type} from {message.from_user}{where}"
    if message.msg_type == "text":
        return f"{head}: 「{_quote(message.content) or '内容已删除 content removed'}」"
    if message.msg_type == "event":
        return f"{head}: {message.event}"
    if message.content:
        return f"{head}: 「{_quote(message.content)}」"
    return head


def _usage(event: ModelUsed) -> str:
    usage = event.usage
    if usage.pictures:
        return f"{usage.pictures} picture(s)"
    if usage.audio_seconds:
        return f"{usage.audio_seconds:.1f}s of voice"
    estimated = " (estimated)" if usage.estimated else ""
    return f"{usage.tokens_in} tokens in, {usage.tokens_out} out{estimated}"


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTED_CHARS else text[:_QUOTED_CHARS] + "…"


def _parts(count: int) -> str:
    return f"{count} part" + ("" if count == 1 else "s")
