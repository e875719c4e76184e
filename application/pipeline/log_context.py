"""Which message the current code is working on, so every log line about it can carry its id
and one message can be followed from callback to reply (see infrastructure/logging_setup)."""

from __future__ import annotations

from contextvars import ContextVar

current_message: ContextVar[str] = ContextVar("current_message", default="")
