"""Callback traffic as WeCom sends it under load: `rate` messages a second from `members`
members, each callback retried as WeCom does when it gets no 200 (3 retries 5 s apart, then
given up). Runs in a thread of its own while the test breaks things."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import httpx

from tests.support.e2e import WeComSender

RETRIES = 3
RETRY_SECONDS = 5.0


@dataclass
class Outcome:
    user: str
    content: str
    attempts: int = 0
    acknowledged: bool = False


class WeComTraffic:
    def __init__(
        self, sender: WeComSender, base_url: str, rate: float, members: int, marker: str
    ):
        self._sender = sender
        self._url = f"{base_url}/wework_callback"
        self._rate = rate
        self._members = members
        self._marker = marker  # in every message's text, to look for in the service's log
        self.outcomes: dict[int, Outcome] = {}
        self.statuses: dict[int, int] = {}  # HTTP status -> count, every attempt
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, seconds: float) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(seconds),))
        self._thread.start()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the traffic did not finish"

    def acknowledged(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.acknowledged]

    def given_up(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if not o.acknowledged]

    async def _run(self, seconds: float) -> None:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            tasks, started, n = [], time.monotonic(), 0
            while time.monotonic() - started < seconds:
                tasks.append(asyncio.create_task(self._message(client, n)))
                n += 1
                # Paced on the schedule, not on each sleep: the rate holds under load.
                await asyncio.sleep(max(0.0, started + n / self._rate - time.monotonic()))
            await asyncio.gather(*tasks)

    async def _message(self, client: httpx.AsyncClient, n: int) -> None:
        outcome = Outcome(f"member{n % self._members}", f"{self._marker}问题{n}")
        self.outcomes[n] = outcome
        params, body = self._sender.callback(outcome.user, outcome.content, 10_000 + n)
        for attempt in range(1 + RETRIES):
            if attempt:
                await asyncio.sleep(RETRY_SECONDS)
            outcome.attempts += 1
            try:
                response = await client.post(self._url, params=params, content=body)
            except httpx.HTTPError:
                self._count(0)
                continue
            self._count(response.status_code)
            if response.status_code == 200:
                outcome.acknowledged = True
                return

    def _count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
