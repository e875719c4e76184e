"""The AI bot's long connection (长连接) as its channel answers through it: stream frames that
answer a message by its req_id, the welcome that answers entering the chat, and markdown the
bot sends on its own. WeCom acknowledges every frame; each method returns once it has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from application.ports.wecom import DeliveryError

# The link's states, as /readyz, /metrics and the operator's view name them.
CONNECTING = "connecting"  # dialling, subscribing, or waiting to try again
CONNECTED = "connected"  # subscribed: messages come in, frames go out
STANDBY = "standby"  # another process of this deployment holds the bot's one connection
REFUSED = "refused"  # WeCom refused the BotID and Secret: a configuration error
REPLACED = "replaced"  # another deployment took the bot's connection over
STOPPED = "stopped"
LINK_STATES = (CONNECTING, CONNECTED, STANDBY, REFUSED, REPLACED, STOPPED)
# States that need the operator: this process will not answer until someone acts.
NEEDS_OPERATOR = (REFUSED, REPLACED)


class LinkDown(DeliveryError):
    """The connection is not up, or closed before WeCom acknowledged the frame: the frame
    may be sent again once it is back."""

    def __init__(self, reason: str):
        super().__init__(reason, permanent=False)


@dataclass(frozen=True)
class LinkStatus:
    state: str  # one of LINK_STATES
    since: float | None  # epoch seconds: connected since, or in this state since
    last_error: str | None  # the latest reason the link was down or refused, free of secrets


class AiBotLink(Protocol):
    """Failures are DeliveryErrors: LinkDown, or WeCom's refusal of the frame (errcode)."""

    def is_up(self) -> bool:
        """Subscribed now, in this process."""

    def answers(self, req_id: str) -> bool:
        """Whether frames may answer `req_id` now: it came in over the current connection
        (WeCom ties a req_id to the connection that delivered it)."""

    async def respond_stream(
        self, req_id: str, stream_id: str, content: str, *, finish: bool, feedback_id: str
    ) -> None:
        """aibot_respond_msg: the stream's content so far (markdown, ≤ 20480 bytes), replacing
        the last; `finish` on the last frame. Frames of one req_id go one at a time.
        `feedback_id` comes back with a member's 👍/👎 on the answer."""

    async def respond_welcome(self, req_id: str, content: str) -> None:
        """aibot_respond_welcome_msg: text answering an enter_chat event (within 5 s)."""

    async def send_markdown(self, chat_id: str, content: str) -> None:
        """aibot_send_msg: markdown to a member (their userid) or a group (its chatid)."""

    def status(self) -> LinkStatus: ...
