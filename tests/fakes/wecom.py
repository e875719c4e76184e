"""A hand-written WeComGateway for unit tests: remembers what was sent, fails on request."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

from application.ports import DeliveryError


class FakeWeComGateway:
    def __init__(self, invalid_users: Iterable[str] = ()):
        """Sending to one of `invalid_users` fails permanently, as WeCom's 81013 does."""
        self.sent: list[tuple[str, str]] = []
        self._invalid_users = frozenset(invalid_users)
        self._failures: deque[tuple[str, int | None, bool]] = deque()
        self._msgids = itertools.count(1)

    def fail_next(
        self,
        times: int = 1,
        *,
        permanent: bool = False,
        errcode: int | None = -1,
        reason: str = "WeCom is busy (fake)",
    ) -> None:
        """The next `times` sends raise DeliveryError and deliver nothing."""
        self._failures.extend([(reason, errcode, permanent)] * times)

    async def send_text(self, to_user: str, content: str) -> str:
        if self._failures:
            reason, errcode, permanent = self._failures.popleft()
            raise DeliveryError(reason, errcode=errcode, permanent=permanent)
        if to_user in self._invalid_users:
            raise DeliveryError(
                f"WeCom did not deliver to {to_user}: not a member (fake)",
                errcode=81013,
                permanent=True,
            )
        self.sent.append((to_user, content))
        return f"fake-msgid-{next(self._msgids)}"
