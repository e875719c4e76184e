"""A hand-written AiBotLink: up or down at the test's word, answers the req_ids it is told
came in over its connection, remembers every frame and message it took, fails on request."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from application.ports.aibot_link import CONNECTED, CONNECTING, LinkDown, LinkStatus
from application.ports.wecom import DeliveryError


@dataclass(frozen=True)
class Frame:
    req_id: str
    stream_id: str
    content: str
    finish: bool
    feedback_id: str


class FakeAiBotLink:
    def __init__(self) -> None:
        self.up = True
        self.frames: list[Frame] = []
        self.welcomes: list[tuple[str, str]] = []  # (req_id, content)
        self.markdown: list[tuple[str, str]] = []  # (chat_id, content)
        self._req_ids: set[str] = set()
        self._failures: deque[DeliveryError] = deque()
        # Awaited after each finishing frame is taken: what happens between a frame and its
        # record.
        self.after_finish: Callable[[], Awaitable[None]] | None = None

    def came_in(self, req_id: str) -> None:
        """`req_id` arrived over the current connection."""
        self._req_ids.add(req_id)

    def drop(self) -> None:
        """The connection is gone, and with it every req_id it could answer."""
        self.up = False
        self._req_ids.clear()

    def fail_next(self, error: DeliveryError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def finished(self, stream_id: str) -> list[Frame]:
        return [f for f in self.frames if f.stream_id == stream_id and f.finish]

    def is_up(self) -> bool:
        return self.up

    def answers(self, req_id: str) -> bool:
        return self.up and req_id in self._req_ids

    async def respond_stream(
        self, req_id: str, stream_id: str, content: str, *, finish: bool, feedback_id: str
    ) -> None:
        self._take()
        self.frames.append(Frame(req_id, stream_id, content, finish, feedback_id))
        if finish and self.after_finish is not None:
            await self.after_finish()

    async def respond_welcome(self, req_id: str, content: str) -> None:
        self._take()
        self.welcomes.append((req_id, content))

    async def send_markdown(self, chat_id: str, content: str) -> None:
        self._take()
        self.markdown.append((chat_id, content))

    def status(self) -> LinkStatus:
        return LinkStatus(CONNECTED if self.up else CONNECTING, None, None)

    def _take(self) -> None:
        if not self.up:
            raise LinkDown("the fake link is down")
        if self._failures:
            raise self._failures.popleft()
