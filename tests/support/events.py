"""Building realistic event streams for tests."""

from __future__ import annotations

from domain.events import AnswerComposed, MessageReceived
from domain.messages import InboundMessage


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
