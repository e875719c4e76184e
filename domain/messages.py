"""What a WeCom member said to the app, as the domain sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InboundMessage:
    """One decrypted callback message. `chat_id` is set for group messages only."""

    msg_type: str
    from_user: str
    create_time: int
    agent_id: int
    msg_id: str = ""
    content: str = ""
    chat_id: str = ""
    event: str = ""

    @property
    def is_group(self) -> bool:
        return bool(self.chat_id)

    @property
    def dedup_key(self) -> str:
        """WeCom retries a callback up to three times; this names the message across them.

        Messages carry a MsgId; events do not, so WeCom's documented key for them is
        FromUserName + CreateTime (see WECOM.md).
        """
        if self.msg_id:
            return f"msg:{self.agent_id}:{self.msg_id}"
        return f"event:{self.agent_id}:{self.from_user}:{self.create_time}"

    @property
    def conversation_id(self) -> str:
        if self.is_group:
            return f"group:{self.agent_id}:{self.chat_id}"
        return f"user:{self.agent_id}:{self.from_user}"
