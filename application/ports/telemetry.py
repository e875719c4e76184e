"""What the service counts and times, for /metrics."""

from __future__ import annotations

from typing import Protocol


class Telemetry(Protocol):
    """Calls are cheap and never fail. `channel` is the channel's name ("app:hr")."""

    def callback_answered(self, channel: str, outcome: str, seconds: float) -> None: ...

    def model_called(self, channel: str, outcome: str, seconds: float) -> None: ...

    def wecom_called(self, channel: str, endpoint: str, errcode: str) -> None: ...

    def pending_messages(self, count: int) -> None: ...
