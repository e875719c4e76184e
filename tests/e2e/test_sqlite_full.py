"""A full SQLite database (simulated by the store: its connection's max_page_count lowered to
the file's size) loses nothing: callbacks are accepted into the spool, /readyz says so, and
the spool is replayed once the store can write again. With the spool's bound reached as
well, callbacks get 503 and /readyz too, and WeCom's retries are answered once back.

The service runs in this process (the container as production wires it, under uvicorn), so
the test can reach the store's SQLite writer through a route of its own."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infrastructure.app_factory import build_app
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.service_process import wait_until
from tests.support.stores import fill_sqlite
from wecom_emulator import WeComEmulator

BIG = "很长的问题。" * 300  # several pages each: a full file cannot take one more
SPOOL_BOUND = 6


def answer(body: dict) -> str:
    return f"回答：{body['messages'][-1]['content'][:12]}"


def question(n: int) -> dict:
    """What the model is asked for message `n`, as answer() reads it."""
    return {"messages": [{"content": f"问题{n:02d}{BIG}"}]}


@pytest.fixture
def served(tmp_path):
    wecom, model = WeComEmulator(), OpenAIStandIn(reply=answer)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        keys = CallbackKeys()
        raw = service_config(
            wecom, wecom_url, keys, f"sqlite:///{tmp_path}/events.db",
            llm={"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in"},
            sweep_seconds=0.3,
            # Long questions (each needs new pages of the file) are still answered.
            max_single_msg_tokens=4000,
        )
        raw["storage"]["spool_max_messages"] = SPOOL_BOUND
        config, _ = parse_config(raw, {})
        container = Container(config=config)
        app = build_app(container)
        app.router.routes.append(Route("/test/store-full", full_hook(container), methods=["POST"]))
        with serve(app) as url:
            yield url, wecom, WeComSender(wecom, keys), tmp_path


def full_hook(container: Container):
    async def hook(request: Request) -> Response:
        await fill_sqlite(container.event_store(), full=request.query_params["full"] == "1")
        return Response(status_code=204)

    return hook


def test_a_full_database_spools_then_refuses_and_loses_nothing(served, figures):
    url, wecom, sender, tmp_path = served

    def post(n: int) -> int:
        content = question(n)["messages"][0]["content"]
        params, body = sender.callback(f"member{n % 3}", content, 500 + n)
        return httpx.post(f"{url}/wework_callback", params=params, content=body, timeout=10)\
            .status_code

    def readyz() -> tuple[int, str]:
        response = httpx.get(f"{url}/readyz", timeout=10)
        return response.status_code, response.json()["status"]

    assert [post(n) for n in range(3)] == [200] * 3
    wait_until(lambda: len(wecom.sent) == 3, timeout=30, what="the first answers")
    assert readyz() == (200, "ready")

    assert httpx.post(f"{url}/test/store-full?full=1", timeout=10).status_code == 204
    spooled = [post(n) for n in range(3, 3 + SPOOL_BOUND)]
    wait_until(lambda: readyz() == (200, "degraded"), timeout=12, what="degraded /readyz")
    refused = [post(n) for n in range(3 + SPOOL_BOUND, 3 + SPOOL_BOUND + 2)]
    wait_until(lambda: readyz() == (503, "not ready"), timeout=12, what="not ready /readyz")
    assert spooled == [200] * SPOOL_BOUND and refused == [503, 503]
    assert len(wecom.sent) == 3

    assert httpx.post(f"{url}/test/store-full?full=0", timeout=10).status_code == 204
    # The spool is replayed within WeCom's 5 s between retries; then the two refused
    # callbacks come again, and are recorded.
    wait_until(lambda: readyz() == (200, "ready"), timeout=12, what="ready again")
    retried = [post(n) for n in range(3 + SPOOL_BOUND, 3 + SPOOL_BOUND + 2)]
    total = 3 + SPOOL_BOUND + 2
    wait_until(lambda: len(wecom.sent) >= total, timeout=60, what="every answer")
    answered = Counter(m.content for m in wecom.sent)
    figures(f"spooled={SPOOL_BOUND} refused then retried={len(retried)} "
            f"answered={sum(answered.values())} of {total}, duplicates="
            f"{sum(n - 1 for n in answered.values())}")
    assert retried == [200, 200]
    assert sorted(answered) == sorted(answer(question(n)) for n in range(total))
    assert set(answered.values()) == {1}  # the answers differ, so a repeat would show
    assert not (tmp_path / "spool.db").stat().st_mode & 0o077
