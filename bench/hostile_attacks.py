"""The second review's two costly attacks, measured against the running service for
bench/hostile_input.py, each beside a baseline from the same run:

- a header flood: requests whose headers are 8 MiB each, many at once, against the same
  number of ordinary requests; peak RSS during the flood against RSS before it, and the time
  per refused request against the time per ordinary one;
- a poison message: a picture whose image server answers a malformed URL (which once retried
  for ever, buying a picture each time), against a picture that works; time until the member
  is told, image server calls over several sweeps, and RSS afterwards against before.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.report import Figure
from domain.notices import IMAGE_FAILED
from tests.standins.openai_media_standin import IMAGES, OpenAIMediaStandIn
from tests.support.raw_http import oversized_request
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator
from wecom_emulator.callbacks import signed_callback, text_message_xml

HEADER_BYTES = 8 * 1024 * 1024
_MALFORMED = json.dumps({"data": [{"url": "http://host:abc/cat.png"}]}).encode()


class PeakRss:
    """The highest RSS of the service while the block runs, sampled every 10 ms."""

    def __init__(self, service: ServiceProcess):
        self._service = service
        self.peak = service.rss_mib() or 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._service.rss_mib() or 0.0)


def _timed(send: Callable[[], str], count: int, concurrency: int) -> tuple[float, list[str]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(pool.map(lambda _: send(), range(count)))
    return time.perf_counter() - started, answers


def header_flood(service: ServiceProcess, count: int, concurrency: int) -> list[Figure]:
    port = service.port
    ordinary_seconds, ordinary = _timed(lambda: oversized_request(port), count, concurrency)
    before = service.rss_mib() or 0.0
    with PeakRss(service) as rss:
        flood_seconds, answers = _timed(
            lambda: oversized_request(port, header_bytes=HEADER_BYTES), count, concurrency
        )
    refused = sum(answer in ("400", "reset") for answer in answers)
    print(f"header flood:      {count} x {HEADER_BYTES >> 20} MiB headers, {concurrency} at "
          f"once: {refused} refused, {answers.count('200')} served; ordinary: "
          f"{ordinary.count('200')} of {count} served")
    per = f"{count} requests, {concurrency} at once"
    return [
        Figure("7 headers", f"peak RSS in a flood of 8 MiB headers ({per})", rss.peak, before,
               "RSS before", "MiB", "ratio ≤ 1.2", rss.peak <= 1.2 * before),
        Figure("7 headers", "time per refused 8 MiB-header request", flood_seconds / count * 1000,
               ordinary_seconds / count * 1000, "per ordinary request", "ms", "", None),
        Figure("7 headers", "8 MiB-header requests served", count - refused, count,
               "sent", "", "= 0", refused == count),
    ]


def _draw(service: ServiceProcess, wecom: WeComEmulator, crypto, msg_id: int, member: str):
    xml = text_message_xml(wecom.corp_id, member, "画 一只猫", msg_id=msg_id,
                           agent_id=wecom.agent_id)
    params, body = signed_callback(crypto, xml)
    response = httpx.post(f"{service.base_url}/wework_callback", params=params, content=body,
                          timeout=10)
    assert response.status_code == 200, response.text


def poison_message(
    service: ServiceProcess, wecom: WeComEmulator, images: OpenAIMediaStandIn, crypto,
    sweep_seconds: float,
) -> list[Figure]:
    started = time.perf_counter()
    _draw(service, wecom, crypto, 7001, "painter")
    wait_until(lambda: wecom.images_for("painter"), timeout=30, what="a picture that works")
    working_seconds = time.perf_counter() - started
    calls_before = len(images.image_requests)

    images.send_raw_next(IMAGES, _MALFORMED, times=1000)
    before = service.rss_mib() or 0.0
    started = time.perf_counter()
    _draw(service, wecom, crypto, 7002, "poisoned")
    wait_until(lambda: IMAGE_FAILED in wecom.contents_for("poisoned"), timeout=30,
               what="the picture-failed notice")
    told_seconds = time.perf_counter() - started
    time.sleep(5 * sweep_seconds)  # five sweeps, each of which once tried it again
    calls = len(images.image_requests) - calls_before
    after = service.rss_mib() or 0.0
    tracebacks = service.log().count("Traceback (most recent call last)")
    print(f"poison message:    told in {told_seconds:.2f}s, image server called {calls} time(s) "
          f"over five sweeps, {tracebacks} tracebacks logged")
    return [
        Figure("8 poison", "time until the member is told (malformed image URL)",
               told_seconds * 1000, working_seconds * 1000, "a picture that works", "ms",
               "", None),
        Figure("8 poison", "image server calls for it over five sweeps", calls, 1,
               "one call", "", "ratio = 1", calls == 1),
        Figure("8 poison", "RSS after it", after, before, "RSS before", "MiB", "ratio ≤ 1.1",
               after <= 1.1 * before),
    ]
