"""The httpx chat model against a model server that is busy or hangs: it keeps to its own
bound of calls at once, waits as a busy server asks (429 with Retry-After) instead of failing,
gives up on a call that has not begun to answer by the first-token deadline, and, with a
hedge, gets the answer from a second call while the first hangs."""

from __future__ import annotations

import asyncio
import time

import pytest

from application.ports.models import ChatMessage, ChatModelError
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.chat_models import make_model

QUESTION = [ChatMessage("user", "今天天气怎么样？")]


@pytest.fixture
def standin():
    return OpenAIStandIn()


@pytest.fixture(autouse=True)
def recovered(served, standin):
    """Hung calls end before the server stops, not HANG_LIMIT_SECONDS later."""
    yield
    standin.recover()


async def ask_all(model, count: int, *, stream: bool = False) -> list[str]:
    async def one(i: int) -> str:
        asked = [ChatMessage("user", f"question {i}")]
        if not stream:
            return (await model.complete(asked, max_tokens=100)).text
        return "".join([p async for p in model.stream(asked, max_tokens=100) if isinstance(p, str)])

    return await asyncio.gather(*(one(i) for i in range(count)))


async def test_no_more_calls_than_max_concurrency_are_at_the_server(client, served, standin):
    standin.delay = 0.2
    model = make_model(client, served, max_concurrency=3)

    answers = await ask_all(model, 9)

    assert answers == [f"answer to: question {i}" for i in range(9)]
    assert standin.peak_concurrency == 3
    assert standin.busy_refusals == 0


@pytest.mark.parametrize("stream", [False, True])
async def test_a_busy_server_is_waited_for_as_it_asks_and_every_call_answered(
    client, served, standin, stream
):
    standin.delay, standin.max_concurrent, standin.retry_after = 0.2, 2, 0.1
    model = make_model(client, served, max_concurrency=6, retry_attempts=1)

    answers = await ask_all(model, 6, stream=stream)

    # One attempt for failures, yet every call turned away for being busy came back later.
    assert answers == [f"answer to: question {i}" for i in range(6)]
    assert standin.peak_concurrency == 2
    assert standin.busy_refusals >= 4


async def test_a_server_that_stays_busy_is_given_up_on_after_the_patience(
    client, served, standin
):
    standin.max_concurrent, standin.retry_after = 0, 0.2
    model = make_model(client, served, busy_patience_seconds=0.5)
    started = time.monotonic()

    with pytest.raises(ChatModelError, match=r"answered 429 \(busy\)"):
        await model.complete(QUESTION, max_tokens=100)

    assert time.monotonic() - started < 1.5
    assert 2 <= standin.busy_refusals <= 4  # as often as the waits fit, not retry_attempts


async def test_a_busy_answer_without_retry_after_counts_as_a_failure(client, served, standin):
    standin.fail_next(429, times=10)

    with pytest.raises(ChatModelError, match="attempts: 2"):
        await make_model(client, served, retry_attempts=2).complete(QUESTION, max_tokens=100)

    assert len(standin.requests) == 2


@pytest.mark.parametrize("stream", [False, True])
async def test_a_hung_call_fails_at_the_first_token_deadline_without_a_retry(
    client, served, standin, stream
):
    standin.hang_next(1)
    model = make_model(client, served, first_token_seconds=0.3)
    started = time.monotonic()

    with pytest.raises(ChatModelError, match=r"did not begin to answer within 0\.3s"):
        await ask_all(model, 1, stream=stream)

    assert 0.3 <= time.monotonic() - started < 1.0
    assert len(standin.requests) == 1
    assert await ask_all(model, 1, stream=stream) == ["answer to: question 0"]


async def test_a_stream_that_has_begun_is_not_cut_by_the_first_token_deadline(
    client, served, standin
):
    standin.stream_delay = 1.0  # the role chunk, then the answer a second later
    standin.chunk_chars = 1000
    model = make_model(client, served, first_token_seconds=0.3)

    # The first line (the role chunk) came in time: the answer begins, and is whole later.
    pieces = model.stream(QUESTION, max_tokens=100)
    assert await anext(pieces) == "answer to: 今天天气怎么样？"
    await pieces.aclose()


@pytest.mark.parametrize("stream", [False, True])
async def test_a_hedge_answers_while_the_first_call_hangs(client, served, standin, stream):
    standin.hang_next(1)
    model = make_model(client, served, first_token_seconds=2.0, hedge_after_seconds=0.2)
    started = time.monotonic()

    assert await ask_all(model, 1, stream=stream) == ["answer to: question 0"]

    assert time.monotonic() - started < 1.0
    assert len(standin.requests) == 2


async def test_a_hedge_that_cannot_help_fails_at_the_first_token_deadline(
    client, served, standin
):
    standin.hang_next(2)
    model = make_model(client, served, first_token_seconds=0.5, hedge_after_seconds=0.2)

    with pytest.raises(ChatModelError, match=r"within 0\.5s \(and a second call\)"):
        await model.complete(QUESTION, max_tokens=100)

    assert len(standin.requests) == 2
