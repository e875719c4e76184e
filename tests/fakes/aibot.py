"""A hand-written AiBotResponseUrl: remembers every message posted, fails on request."""

from __future__ import annotations

from collections import deque

from application.ports.wecom import DeliveryError


class FakeAiBotResponseUrl:
    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []  # (response_url, markdown content)
        self._failures: deque[DeliveryError] = deque()

    def fail_next(self, times: int = 1, *, permanent: bool = False, errcode: int = -1) -> None:
        reason = f"response_url refused the message: errcode {errcode} (fake)"
        self._failures.extend(
            [DeliveryError(reason, errcode=errcode, permanent=permanent)] * times
        )

    async def post_markdown(self, response_url: str, content: str) -> None:
        if self._failures:
            raise self._failures.popleft()
        self.posts.append((response_url, content))
