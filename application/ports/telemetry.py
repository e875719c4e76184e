"""What the service counts and times, for /metrics."""

from __future__ import annotations

from typing import Protocol


class Telemetry(Protocol):
    """Calls are cheap and never fail."""

    def callback_answered(self, outcome: str, seconds: float) -> None: ...

    def model_called(self, outcome: str, seconds: float) -> None: ...

    def wecom_called(self, endpoint: str, errcode: str) -> None: ...

    def pending_messages(self, count: int) -> None: ...
