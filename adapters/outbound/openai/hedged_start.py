"""The start of a model call (its first bytes) awaited with a first-token deadline and,
where asked for, a hedge: after `hedge_after` seconds without a start, a second identical
call is made and whichever starts first is kept, the other cancelled.

A hung call is then told apart from a slow one early: a server that has not begun to answer
after the first-token deadline is given up on (the total timeout may be minutes, for long
answers), and a hedge often gets an answer from another of the server's replicas meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

_T = TypeVar("_T")


class NoStart(Exception):
    """No attempt began to answer within the first-token deadline."""


@dataclass(frozen=True)
class Started(Generic[_T]):
    """The attempt kept, and any other that had also answered by then (so was paid for)."""

    kept: _T
    also_answered: tuple[_T, ...] = ()


async def hedged_start(
    start: Callable[[], Awaitable[_T]],
    *,
    within: float | None,
    hedge_after: float | None,
    discard: Callable[[_T], Awaitable[None]],
) -> Started[_T]:
    """The first attempt of `start()` to succeed; raises NoStart when none did `within`
    seconds of the first (None: no deadline), or the first attempt's error when every attempt
    failed. Attempts not kept are cancelled; those that had answered are handed to the caller
    in `also_answered` and the caller must discard them (`discard` is called only for those
    the deadline or an error left behind)."""
    loop = asyncio.get_running_loop()
    deadline = None if within is None else loop.time() + within
    attempts = [asyncio.ensure_future(start())]
    try:
        if hedge_after is not None and (within is None or hedge_after < within):
            await asyncio.wait(attempts, timeout=hedge_after)
            if not attempts[0].done():
                attempts.append(asyncio.ensure_future(start()))
        running = list(attempts)
        while running:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            done, pending = await asyncio.wait(
                running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                raise NoStart
            answered = [a for a in attempts if a.done() and not a.cancelled() and not a.exception()]
            if answered:
                kept, *others = answered
                for attempt in attempts:
                    if not attempt.done():
                        attempt.cancel()
                return Started(kept.result(), tuple(other.result() for other in others))
            running = list(pending)
        raise attempts[0].exception()  # type: ignore[misc]
    except BaseException:
        await _cancel_all(attempts, discard)
        raise


async def _cancel_all(attempts, discard) -> None:
    for attempt in attempts:
        attempt.cancel()
    for attempt in attempts:
        try:
            result = await attempt
        except BaseException:  # noqa: BLE001 - a cancelled or failed attempt has nothing to free
            continue
        await discard(result)
