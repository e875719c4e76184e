"""Building realistic event streams for tests."""

from __future__ import annotations

from domain.events import AnswerComposed, MessageReceived, ModelUsed
from domain.messages import InboundMessage
from domain.usage import Usage


def text_message(content: str, msg_id: str = "1", user: str = "zhangsan") -> InboundMessage:
    return InboundMessage(
        msg_type="text",
        from_user=user,
        create_time=1_700_000_000,
        agent_id=1000001,
        msg_id=msg_id,
        content=content,
    )


def received(message: InboundMessage) -> MessageReceived:
    return MessageReceived(
        stream_id=message.dedup_key,
        version=1,
        conversation_id=message.conversation_id,
        message=message,
    )


def answered(message: InboundMessage, answer: str, version: int = 2) -> AnswerComposed:
    return AnswerComposed(
        stream_id=message.dedup_key,
        version=version,
        conversation_id=message.conversation_id,
        to_user=message.from_user,
        text=answer,
        parts=(answer,),
        prompt=message.content,
        answer=answer,
    )


def used(
    message: InboundMessage,
    usage: Usage,
    *,
    version: int = 2,
    department: int | None = None,
    at: float | None = None,
) -> ModelUsed:
    """What answering `message` cost, at `at` (default: now)."""
    return ModelUsed(
        stream_id=message.dedup_key,
        version=version,
        conversation_id=message.conversation_id,
        channel=message.channel,
        member=message.from_user,
        department=department,
        usage=usage,
        **({} if at is None else {"occurred_at": at}),
    )
