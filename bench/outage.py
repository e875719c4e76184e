"""`outage`: how long a PostgreSQL outage's backlog takes to clear once the database is back.

The real service on a PostgreSQL cluster of its own (tests/support/private_postgres.py), WeCom
and the model as stand-ins, ~20 callbacks a second from 100 members with WeCom's retries
(tests/support/wecom_traffic.py). The database is stopped for OUTAGE_SECONDS under that
traffic: messages go to the spool; then it is started again. The figure is the time from the
restart to the last acknowledged message answered, against the time the backlog took to
build (the outage itself). Every acknowledged message must be answered exactly once.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from bench.report import Figure
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.private_postgres import postgres_binaries, private_cluster
from tests.support.service_process import ServiceProcess, wait_until
from tests.support.wecom_traffic import WeComTraffic
from wecom_emulator import WeComEmulator

RATE, MEMBERS = 20.0, 100
BEFORE_SECONDS, OUTAGE_SECONDS, AFTER_SECONDS = 2.0, 15.0, 2.0


def run(workdir: Path) -> list[Figure]:
    if postgres_binaries() is None:
        raise RuntimeError("the outage benchmark needs PostgreSQL's server binaries (initdb)")
    wecom = WeComEmulator()
    model = OpenAIStandIn(reply=lambda body: f"回答：{body['messages'][-1]['content']}")
    with private_cluster() as cluster, serve(wecom.app) as wecom_url, serve(
        model.app
    ) as model_url:
        keys = CallbackKeys()
        config = service_config(
            wecom, wecom_url, keys, cluster.url,
            llm={"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in"},
            lease_seconds=2, sweep_seconds=0.3,
        )
        service = ServiceProcess(config, workdir)
        service.start()
        try:
            traffic = WeComTraffic(
                WeComSender(wecom, keys), service.base_url, RATE, MEMBERS, marker=""
            )
            traffic.start(BEFORE_SECONDS + OUTAGE_SECONDS + AFTER_SECONDS)
            time.sleep(BEFORE_SECONDS)
            cluster.stop()
            time.sleep(OUTAGE_SECONDS)
            cluster.start()
            back = time.monotonic()
            traffic.wait(timeout=120)
            acknowledged = traffic.acknowledged()
            wait_until(lambda: len(wecom.sent) >= len(acknowledged), timeout=600,
                       what="every answer")
            cleared = time.monotonic() - back
        finally:
            service.stop()
    answered = Counter(m.content for m in wecom.sent)
    exactly_once = (
        len(acknowledged) == len(traffic.outcomes)
        and set(answered) == {f"回答：{o.content}" for o in acknowledged}
        and set(answered.values()) == {1}
    )
    print(f"  outage: {len(traffic.outcomes)} sent, {len(acknowledged)} acknowledged, "
          f"{sum(answered.values())} answered, exactly once: {exactly_once}")
    return [
        Figure(
            "17 outage", f"PostgreSQL back → backlog answered ({RATE:.0f}/s, "
            f"{len(acknowledged)} messages)", cleared, OUTAGE_SECONDS,
            "the outage (backlog building)", "s", "every message answered once",
            exactly_once,
        )
    ]
