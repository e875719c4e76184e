"""What the service counts and times, for /metrics."""

from __future__ import annotations

from typing import Protocol


class Telemetry(Protocol):
    """Calls are cheap and never fail. `channel` is the channel's name ("app:hr")."""

    def callback_answered(self, channel: str, outcome: str, seconds: float) -> None: ...

    def model_called(self, channel: str, outcome: str, seconds: float) -> None: ...

    def wecom_called(self, channel: str, endpoint: str, errcode: str) -> None: ...

    def pending_messages(self, count: int) -> None: ...

    def aibot_link_state(self, channel: str, state: str) -> None:
        """The bot's long connection entered `state` (one of aibot_link.LINK_STATES)."""

    def aibot_link_reconnected(self, channel: str) -> None:
        """Another attempt to connect, after the first."""

    def aibot_frame(self, channel: str, direction: str, kind: str) -> None:
        """A frame went "out" (its cmd) or came "in" (what it was, or "skipped")."""
