"""The AI bot's long connection as its channel sends through it (the AiBotLink port): frames
answering req_ids of the current connection, and markdown the bot sends on its own. Which
connection is current, and the link's state, are the holder's to set (AiBotLinkHolder);
kept apart from it so the channel that answers through the link and the holder that feeds
messages to the channel's pipeline do not need each other to be built."""

from __future__ import annotations

import time
from collections.abc import Callable

from adapters.inbound.wecom_aibot.aibot_connection import AiBotConnection
from adapters.inbound.wecom_aibot.aibot_frames import (
    RESPOND,
    RESPOND_WELCOME,
    SEND,
    markdown_body,
    stream_body,
    welcome_body,
)
from application.ports.aibot_link import CONNECTED, CONNECTING, STOPPED, LinkDown, LinkStatus
from application.ports.telemetry import Telemetry


class WebSocketAiBotLink:
    def __init__(self, channel: str, telemetry: Telemetry, clock: Callable[[], float] = time.time):
        self._channel = channel
        self._telemetry = telemetry
        self._clock = clock
        self._state, self._since, self._last_error = STOPPED, clock(), None
        self._connection: AiBotConnection | None = None

    # --- the AiBotLink port ----------------------------------------------------------------

    def is_up(self) -> bool:
        return self._connection is not None

    def answers(self, req_id: str) -> bool:
        connection = self._connection
        return bool(req_id) and connection is not None and connection.answers(req_id)

    async def respond_stream(
        self, req_id: str, stream_id: str, content: str, *, finish: bool, feedback_id: str
    ) -> None:
        connection = self._up()
        # WeCom takes the feedback id on a stream's first frame only.
        first = connection.first_frame_for(req_id)
        body = stream_body(stream_id, content, finish, feedback_id if first else None)
        await connection.request(RESPOND, body, req_id)

    async def respond_welcome(self, req_id: str, content: str) -> None:
        await self._up().request(RESPOND_WELCOME, welcome_body(content), req_id)

    async def send_markdown(self, chat_id: str, content: str) -> None:
        await self._up().request(SEND, markdown_body(chat_id, content))

    def status(self) -> LinkStatus:
        return LinkStatus(self._state, self._since, self._last_error)

    def _up(self) -> AiBotConnection:
        if self._connection is None:
            raise LinkDown(f"the long connection is {self._state}")
        return self._connection

    # --- set by the holder -------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    def attach(self, connection: AiBotConnection) -> None:
        """`connection` is subscribed: frames go through it from now on."""
        self._connection = connection
        self._last_error = None
        self.enter(CONNECTED)

    def detach(self, why: str) -> None:
        """The connection is gone (or never came up), for this reason."""
        self._connection = None
        self._last_error = why
        if self._state == CONNECTED:
            self.enter(CONNECTING)

    def enter(self, state: str, why: str | None = None) -> None:
        if why is not None:
            self._last_error = why
        if state != self._state:
            self._state, self._since = state, self._clock()
            self._telemetry.aibot_link_state(self._channel, state)
