"""What a WeCom member said to the app, as the domain sees it."""

from __future__ import annotations

from dataclasses import dataclass

GROUP_MEMORY_SHARED = "group"
GROUP_MEMORY_PER_MEMBER = "member"
# Where a message came in: the self-built app's XML callback, or the AI bot's JSON callback.
CHANNEL_APP = "app"
CHANNEL_AIBOT = "aibot"


@dataclass(frozen=True)
class InboundMessage:
    """One decrypted callback message. `chat_id` is set for group messages only. An AI bot
    message has no agent (0) and carries `response_url`, where one late answer may go."""

    msg_type: str
    from_user: str
    create_time: int
    agent_id: int
    msg_id: str = ""
    content: str = ""
    chat_id: str = ""
    event: str = ""
    media_id: str = ""
    channel: str = CHANNEL_APP
    response_url: str = ""

    @property
    def is_group(self) -> bool:
        return bool(self.chat_id)

    @property
    def via_aibot(self) -> bool:
        return self.channel == CHANNEL_AIBOT

    @property
    def dedup_key(self) -> str:
        """WeCom retries a callback up to three times; this names the message across them.

        Messages carry a MsgId; events do not, so WeCom's documented key for them is
        FromUserName + CreateTime (see WECOM.md). The AI bot's msgid is its own namespace.
        """
        if self.via_aibot:
            return aibot_dedup_key(self.msg_id)
        if self.msg_id:
            return f"msg:{self.agent_id}:{self.msg_id}"
        return f"event:{self.agent_id}:{self.from_user}:{self.create_time}"

    @property
    def conversation_id(self) -> str:
        return self.conversation_key(GROUP_MEMORY_SHARED)

    def conversation_key(self, group_memory: str) -> str:
        """Which conversation (memory, and order of handling) the message belongs to. In a group
        that is the whole group, or with `group_memory` "member" each asker within it. The AI
        bot's conversations are its own: its chats are not the app's, even for the same member."""
        if self.via_aibot:
            return _aibot_conversation_key(self, group_memory)
        if not self.is_group:
            return f"user:{self.agent_id}:{self.from_user}"
        if group_memory == GROUP_MEMORY_PER_MEMBER:
            return f"group:{self.agent_id}:{self.chat_id}:{self.from_user}"
        return f"group:{self.agent_id}:{self.chat_id}"


def aibot_dedup_key(msg_id: str) -> str:
    """The AI bot message with this msgid (its stream's id is the msgid too, so that any
    process can find the message behind a stream-refresh callback)."""
    return f"aibot:{msg_id}"


def _aibot_conversation_key(message: InboundMessage, group_memory: str) -> str:
    if not message.is_group:
        return f"aibot:user:{message.from_user}"
    if group_memory == GROUP_MEMORY_PER_MEMBER:
        return f"aibot:group:{message.chat_id}:{message.from_user}"
    return f"aibot:group:{message.chat_id}"
