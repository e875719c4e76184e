"""Group commit: appends that arrive while a commit runs are written together in the next
transaction, one commit (one fsync) for all of them. Each caller's await returns only after
the transaction holding its own append has committed, so an acknowledgement that follows it
still means "recorded"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
# Bounds one transaction (and its IN lists) however far the queue has grown.
MAX_BATCH = 256


class GroupCommit(Generic[Item]):
    """`write(items)` commits the items in one transaction and returns, item by item, None
    (committed) or the exception that item's caller gets (a conflict of its own: the others
    are still committed). When `write` raises, nothing of the batch is committed and every
    caller in it gets that exception."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Exception | None]]]):
        self._write = write
        self._queue: list[tuple[Item, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> None:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_batches())
        await future

    async def _write_batches(self) -> None:
        batch: list[tuple[Item, asyncio.Future[None]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    outcomes = await self._write([item for item, _ in batch])
                except Exception as err:
                    outcomes = [err] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller was cancelled; the append stands or not
                        continue
                    if outcome is None:
                        future.set_result(None)
                    else:
                        future.set_exception(outcome)
        finally:
            # Cancelled (the loop is closing): nobody may wait for ever on a batch not done.
            for _, future in batch:
                future.cancel()
            # No await between the last look at the queue and here: a submit either found
            # the queue being drained or finds no writer and starts one.
            self._writer = None
