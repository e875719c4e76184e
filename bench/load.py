"""Signed callbacks prepared before the clock starts, and the load generator that sends them.

The generator shares the machine's two cores with the servers it measures, so everything it
can do ahead of time (encrypting, signing, building the XML and the query) is done before a
timed run, and a timed run only sends bytes and reads the clock. It sends with aiohttp: on this
machine httpx costs about 1 ms of CPU per request and tops out near 900 requests/s, which would
have measured the generator instead of the bare endpoint (aiohttp: about 10,000/s).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from bench.processes import WeComApp
from wecom_emulator.callbacks import signed_callback, text_message_xml

# WeCom's patience: an ack later than this makes it send the callback again.
WECOM_PATIENCE_SECONDS = 5.0


@dataclass(frozen=True)
class Callback:
    query: str
    body: bytes
    content: str  # unique per callback: the reply is found again by it


class CallbackMaker:
    """Unique text callbacks for one app, encrypted and signed the way WeCom sends them."""

    def __init__(self, app: WeComApp):
        self._app = app
        self._crypto = WeComCrypto(app.token, app.aes_key, app.corp_id)
        self._msg_ids = itertools.count(1)

    def make(self, count: int, users: int | None = None, tag: str = "bench") -> list[Callback]:
        """`count` callbacks from `users` members in turn (None: every callback its own member,
        so its own conversation)."""
        made = []
        for _ in range(count):
            msg_id = next(self._msg_ids)
            user = f"u{msg_id if users is None else msg_id % users}"
            content = f"{tag} {msg_id}"
            xml = text_message_xml(
                self._app.corp_id, user, content, msg_id=msg_id, agent_id=self._app.agent_id
            )
            params, body = signed_callback(self._crypto, xml)
            made.append(Callback(urlencode(params), body, content))
        return made


@dataclass
class Load:
    """What one run of the generator saw. Latencies are of acknowledged (HTTP 200) callbacks."""

    started: float = 0.0  # time.monotonic(): comparable with the stand-ins' clocks
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)

    @property
    def acked(self) -> int:
        return self.statuses[200]

    @property
    def sent(self) -> int:
        return self.statuses.total() + self.transport_errors

    @property
    def throughput(self) -> float:
        return self.acked / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)

    @property
    def slower_than_wecom_waits(self) -> int:
        """Callbacks WeCom would send again: late, refused, or never answered."""
        late = sum(1 for latency in self.latencies if latency > WECOM_PATIENCE_SECONDS)
        return late + (self.sent - self.acked)

    def record(self, started: float, status: int | None) -> None:
        if status is None:
            self.transport_errors += 1
            return
        self.statuses[status] += 1
        if status == 200:
            self.latencies.append(time.monotonic() - started)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def client(concurrency: int) -> aiohttp.ClientSession:
    # The timeout is twice WeCom's patience, so a late ack is seen (and counted) as late.
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=2 * WECOM_PATIENCE_SECONDS),
    )


async def _post(http: aiohttp.ClientSession, url: str, callback: Callback) -> int | None:
    """The answer's status once its body is read, or None when no answer came."""
    try:
        async with http.post(f"{url}?{callback.query}", data=callback.body) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


async def closed_loop(
    url: str | Sequence[str], callbacks: Sequence[Callback], concurrency: int, time_limit: float
) -> Load:
    """`concurrency` senders, each posting its next callback as soon as the last one is
    answered, until the callbacks run out or `time_limit` seconds have passed. Given several
    URLs (instances of the service), the senders are spread over them in turn."""
    urls = [url] if isinstance(url, str) else url
    load = Load()
    queue = iter(callbacks)  # shared: each callback is sent once, by whichever sender is free
    async with client(concurrency) as http:
        start = load.started = time.monotonic()
        deadline = start + time_limit

        async def sender(url: str) -> None:
            for callback in queue:
                if time.monotonic() > deadline:
                    return
                started = time.monotonic()
                load.record(started, await _post(http, url, callback))

        await asyncio.gather(*(sender(urls[i % len(urls)]) for i in range(concurrency)))
        load.elapsed = time.monotonic() - start
    return load


async def paced(urls: Sequence[str], callbacks: Sequence[Callback], rate: float) -> Load:
    """Callbacks sent at a steady `rate` per second whatever the answers, as WeCom does;
    the i-th goes to urls[i % len(urls)]. `sent_at` keeps each one's send time."""
    load = Load()
    async with client(64) as http:
        start = time.monotonic()

        async def send(i: int, callback: Callback) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            started = time.monotonic()
            load.sent_at[callback.content] = started
            load.record(started, await _post(http, urls[i % len(urls)], callback))

        await asyncio.gather(*(send(i, cb) for i, cb in enumerate(callbacks)))
        load.elapsed = time.monotonic() - start
    return load
