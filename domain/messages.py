"""What a WeCom member said to one of our channels, as the domain sees it."""

from __future__ import annotations

from dataclasses import dataclass

GROUP_MEMORY_SHARED = "group"
GROUP_MEMORY_PER_MEMBER = "member"
# The channel of the seed's single self-built app, and of messages recorded before channels.
DEFAULT_APP_CHANNEL = "app:default"
# The seed's single AI bot's (the `aibot` object of the configuration).
DEFAULT_AIBOT_CHANNEL = "aibot:default"

PICTURE = "image"
FILE = "file"


@dataclass(frozen=True)
class Attachment:
    """A picture or file that came with a message, as the channel can fetch it: a media_id
    for a self-built app, a download URL (valid five minutes) for an AI bot. Over the bot's
    long connection each item brings its own `aeskey`; `name` is a file's name as the
    member's client shows it; `quoted` marks one from the message the member quoted."""

    kind: str  # PICTURE | FILE
    ref: str
    aeskey: str = ""
    name: str = ""
    quoted: bool = False


@dataclass(frozen=True)
class InboundMessage:
    """One decrypted callback message. `chat_id` is set for group messages only. `channel`
    names the app or bot it came through ("<kind>:<name>", e.g. "app:hr"); an AI bot message
    has no agent (0) and carries `response_url`, where one late answer may go, or, over the
    long connection, `req_id`, by which stream frames answer it for a few minutes. Pictures
    and files are `attachments`, fetched when the message is handled."""

    msg_type: str
    from_user: str
    create_time: int
    agent_id: int
    msg_id: str = ""
    content: str = ""
    chat_id: str = ""
    event: str = ""
    media_id: str = ""
    channel: str = DEFAULT_APP_CHANNEL
    response_url: str = ""
    req_id: str = ""
    attachments: tuple[Attachment, ...] = ()
    # The text of the message the member quoted (AI bot), given to the model as context.
    quote: str = ""

    @property
    def is_group(self) -> bool:
        return bool(self.chat_id)

    @property
    def dedup_key(self) -> str:
        """WeCom retries a callback up to three times; this names the message across them.

        Messages carry a MsgId; events do not, so WeCom's documented key for them is
        FromUserName + CreateTime (see WECOM.md). Every channel is its own namespace: two apps
        (or corps) may hand out the same MsgId.
        """
        if self.msg_id:
            return message_key(self.channel, self.msg_id)
        return f"{self.channel}/event:{self.from_user}:{self.create_time}"

    @property
    def conversation_id(self) -> str:
        return self.conversation_key(GROUP_MEMORY_SHARED)

    def conversation_key(self, group_memory: str) -> str:
        """Which conversation (memory, and order of handling) the message belongs to. In a group
        that is the whole group, or with `group_memory` "member" each asker within it. A
        member's chats with two channels are two conversations."""
        prefix = conversation_prefix(self.channel)
        if not self.is_group:
            return f"{prefix}user:{self.from_user}"
        if group_memory == GROUP_MEMORY_PER_MEMBER:
            return f"{prefix}group:{self.chat_id}:{self.from_user}"
        return f"{prefix}group:{self.chat_id}"


def conversation_prefix(channel: str) -> str:
    """What every conversation id of the channel starts with."""
    return f"{channel}/"


def channel_of(conversation_id: str) -> str:
    """The channel a conversation belongs to ("" for one recorded before channels had names)."""
    channel, separator, _rest = conversation_id.partition("/")
    return channel if separator else ""


def message_key(channel: str, msg_id: str) -> str:
    """The message with this MsgId on this channel (an AI bot's stream id is its msgid too, so
    that any process can find the message behind a stream-refresh callback)."""
    return f"{channel}/msg:{msg_id}"
