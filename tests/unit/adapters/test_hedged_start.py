"""hedged_start on its own: which attempt is kept, which are cancelled, and which are handed
back because they answered too (and so were paid for)."""

from __future__ import annotations

import asyncio

import pytest

from adapters.outbound.openai.hedged_start import NoStart, hedged_start


class Attempts:
    """Each call of `start` is an attempt whose answer the test gives by hand."""

    def __init__(self):
        self.futures: list[asyncio.Future[str]] = []
        self.cancelled = 0
        self.discarded: list[str] = []

    async def start(self) -> str:
        future = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        try:
            return await future
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    async def discard(self, answer: str) -> None:
        self.discarded.append(answer)


async def until(predicate) -> None:
    for _ in range(100):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("never happened")


async def hedged_twice() -> tuple[Attempts, asyncio.Task]:
    """hedged_start running, with its first attempt and its hedge both made."""
    attempts = Attempts()
    task = asyncio.create_task(
        hedged_start(attempts.start, within=1.0, hedge_after=0.02, discard=attempts.discard)
    )
    await until(lambda: len(attempts.futures) == 2)
    return attempts, task


async def test_without_a_hedge_one_attempt_is_made():
    attempts = Attempts()
    task = asyncio.create_task(
        hedged_start(attempts.start, within=1.0, hedge_after=None, discard=attempts.discard)
    )
    await until(lambda: attempts.futures)
    attempts.futures[0].set_result("first")

    started = await task

    assert (started.kept, started.also_answered, len(attempts.futures)) == ("first", (), 1)


async def test_the_hedge_that_answers_first_is_kept_and_the_other_cancelled():
    attempts, task = await hedged_twice()
    attempts.futures[1].set_result("second")

    started = await task
    await asyncio.sleep(0)

    assert (started.kept, started.also_answered) == ("second", ())
    assert attempts.cancelled == 1


async def test_an_attempt_that_answered_too_is_handed_back_to_be_counted():
    attempts, task = await hedged_twice()
    attempts.futures[0].set_result("first")
    attempts.futures[1].set_result("second")

    started = await task

    assert (started.kept, started.also_answered) == ("first", ("second",))


async def test_a_failed_attempt_leaves_the_other_to_answer():
    attempts, task = await hedged_twice()
    attempts.futures[0].set_exception(ConnectionError("lost"))
    await asyncio.sleep(0.01)
    attempts.futures[1].set_result("second")

    assert (await task).kept == "second"


async def test_when_every_attempt_fails_the_first_error_is_raised():
    attempts, task = await hedged_twice()
    attempts.futures[0].set_exception(ConnectionError("first"))
    attempts.futures[1].set_exception(ConnectionError("second"))

    with pytest.raises(ConnectionError, match="first"):
        await task


async def test_nothing_by_the_deadline_cancels_every_attempt():
    attempts = Attempts()

    with pytest.raises(NoStart):
        await hedged_start(attempts.start, within=0.05, hedge_after=0.02, discard=attempts.discard)

    assert (len(attempts.futures), attempts.cancelled) == (2, 2)
