"""What a WeCom member said to the app, as the domain sees it."""

from __future__ import annotations

from dataclasses import dataclass

GROUP_MEMORY_SHARED = "group"
GROUP_MEMORY_PER_MEMBER = "member"


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
    media_id: str = ""

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
        return self.conversation_key(GROUP_MEMORY_SHARED)

    def conversation_key(self, group_memory: str) -> str:
        """Which conversation (memory, and order of handling) the message belongs to. In a group
        that is the whole group, or with `group_memory` "member" each asker within it."""
        if not self.is_group:
            return f"user:{self.agent_id}:{self.from_user}"
        if group_memory == GROUP_MEMORY_PER_MEMBER:
            return f"group:{self.agent_id}:{self.chat_id}:{self.from_user}"
        return f"group:{self.agent_id}:{self.chat_id}"
