"""Hostile input against the real service: `.venv/bin/python bench/hostile_input.py`.

Starts `python app.py` on a temporary config (SQLite, the offline echo model, a local WeCom
stand-in, the admin surface on with a random token), fires 10,000 mixed malformed requests
at its callback over loopback (bounded concurrency and time), then checks that:

- no request got a 5xx, and none broke the connection;
- nothing was stored (the admin stats count the events);
- the log holds no traceback (no refusal came from the unexpected-error guard);
- the service is still healthy, and a valid message sent afterwards is answered.

Then two attacks of the second review (bench/hostile_attacks.py): a flood of 8 MiB headers
(peak memory and time per request) and a poison message (time until the member is told, image
server calls, memory). Prints the figures, with a table for BENCHMARKS.md, and exits 1 if any
check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from adapters.inbound.callback.wecom_crypto import WeComCrypto  # noqa: E402
from bench.hostile_attacks import header_flood, poison_message  # noqa: E402
from bench.report import machine, table  # noqa: E402
from tests.standins.openai_media_standin import OpenAIMediaStandIn  # noqa: E402
from tests.support.e2e import random_key, service_config  # noqa: E402
from tests.support.hostile_callbacks import Peer  # noqa: E402
from tests.support.hostile_flood import flood  # noqa: E402
from tests.support.live_server import serve  # noqa: E402
from tests.support.service_process import ServiceProcess, rss_mib, wait_until  # noqa: E402
from wecom_emulator import WeComEmulator  # noqa: E402
from wecom_emulator.callbacks import signed_callback, text_message_xml  # noqa: E402

CALLBACK_PATH = "/wework_callback"
MEMBER = "hostile-check"


SWEEP_SECONDS = 0.5


def hostile_config(
    wecom: WeComEmulator, wecom_url: str, peer: Peer, admin_token: str, db: Path, images_url: str
) -> dict:
    config = service_config(
        wecom, wecom_url, peer, f"sqlite:///{db}", callback_path=CALLBACK_PATH,
        image_create_prefix=["画"], sweep_seconds=SWEEP_SECONDS,
    )
    config["admin"] = {"enabled": True, "bearer_token": admin_token}
    config["image"] = {"provider": "openai", "base_url": f"{images_url}/v1"}
    return config


def stored_events(service: ServiceProcess, admin_token: str) -> int:
    stats = httpx.get(
        f"{service.base_url}/admin/api/stats",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    ).json()
    return sum(stats["events_by_type"].values())


def valid_message_answered(service: ServiceProcess, wecom: WeComEmulator, peer: Peer) -> bool:
    crypto = WeComCrypto(peer.token, peer.aes_key, wecom.corp_id)
    xml = text_message_xml(wecom.corp_id, MEMBER, "还在吗？", msg_id=1, agent_id=wecom.agent_id)
    params, body = signed_callback(crypto, xml)
    response = httpx.post(
        service.base_url + CALLBACK_PATH, params=params, content=body, timeout=10
    )
    if response.status_code != 200:
        return False
    try:
        wait_until(lambda: wecom.contents_for(MEMBER), timeout=15, what="the reply")
    except AssertionError:
        return False
    return True


def run(requests: int, concurrency: int, time_limit: float, header_requests: int) -> int:
    wecom, images = WeComEmulator(), OpenAIMediaStandIn()
    admin_token = random_key(32)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(wecom.app) as wecom_url,
        serve(images.app) as images_url,
    ):
        workdir = Path(tmp)
        peer = Peer(random_key(32), random_key(43), wecom.corp_id, wecom.agent_id)
        config = hostile_config(
            wecom, wecom_url, peer, admin_token, workdir / "events.db", images_url
        )
        service = ServiceProcess(config, workdir)
        service.start()
        try:
            pid = service.pid
            rss_before = rss_mib(pid)
            tally = asyncio.run(
                flood(
                    service.base_url, CALLBACK_PATH, peer,
                    count=requests, concurrency=concurrency, time_limit=time_limit,
                )
            )
            rss_after = rss_mib(pid)
            events = stored_events(service, admin_token)
            healthy = httpx.get(f"{service.base_url}/healthz", timeout=5).status_code == 200
            answered = valid_message_answered(service, wecom, peer)
            figures = header_flood(service, header_requests, concurrency)
            figures += poison_message(service, wecom, images, peer.crypto, SWEEP_SECONDS)
        finally:
            service.stop()
        log = service.log()
    tracebacks = log.count("Traceback (most recent call last)")

    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items()))
    errors = ", ".join(f"{kind}: {n}" for kind, n in tally.transport_errors.items()) or "none"
    print(f"requests:          {tally.requests} in {tally.seconds:.1f}s "
          f"({tally.requests / max(tally.seconds, 1e-9):.0f}/s, {concurrency} concurrent)")
    print(f"answers:           {statuses}")
    print(f"5xx:               {tally.server_errors}")
    print(f"transport errors:  {errors}")
    print(f"events stored:     {events}")
    print(f"tracebacks logged: {tracebacks}")
    print(f"refusals logged:   {log.count(' refused with ')}")
    if rss_before is not None and rss_after is not None:
        print(f"service RSS:       {rss_before:.0f} MiB before, {rss_after:.0f} MiB after")
    print(f"healthy after:     {'yes' if healthy else 'NO'}")
    print(f"valid message answered after: {'yes' if answered else 'NO'}")

    failures = [
        name
        for name, failed in [
            (f"fewer than {requests} requests fired", tally.requests < requests),
            ("a 5xx answer", tally.server_errors > 0),
            ("broken connections", sum(tally.transport_errors.values()) > 0),
            ("events stored", events != 0),
            ("a traceback in the log", tracebacks > 0),
            ("unhealthy afterwards", not healthy),
            ("a valid message was not answered", not answered),
        ]
        if failed
    ]
    failures += [f"{f.bench}: {f.metric} missed {f.target}" for f in figures if f.met is False]
    print(f"\nmachine: {machine()}\n\n{table(figures)}\n")
    print("RESULT: " + ("PASS" if not failures else "FAIL (" + "; ".join(failures) + ")"))
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds of firing")
    parser.add_argument("--header-requests", type=int, default=256)
    args = parser.parse_args(argv)
    started = time.monotonic()
    code = run(args.requests, args.concurrency, args.time_limit, args.header_requests)
    print(f"total time:        {time.monotonic() - started:.1f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
