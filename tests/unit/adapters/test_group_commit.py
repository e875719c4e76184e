"""Group commit's promises, with a write function standing in for one transaction: appends
that arrive while a commit runs go into the next one, in order; a caller returns only after
the commit holding its item; one item's conflict fails only that caller; a failed commit
fails every caller of its batch and no other."""

from __future__ import annotations

import asyncio

import pytest

from adapters.outbound.persistence.group_commit import MAX_BATCH, GroupCommit
from application.ports.event_store import ConcurrencyConflict


class Transactions:
    """Commits batches of strings; "taken:x" is a conflict of its own, "boom" fails the batch.
    Each commit can be held open until the test lets it finish."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.committed: list[str] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.started = asyncio.Event()

    async def write(self, items: list[str]) -> list[Exception | None]:
        self.batches.append(items)
        self.started.set()
        await self.hold.wait()
        if "boom" in items:
            raise OSError("disk I/O error")
        outcomes: list[Exception | None] = []
        for item in items:
            if item.startswith("taken:"):
                outcomes.append(ConcurrencyConflict(item))
            else:
                self.committed.append(item)
                outcomes.append(None)
        return outcomes


async def _submit_all(group: GroupCommit[str], items: list[str]) -> list[object]:
    return await asyncio.gather(*(group.submit(item) for item in items), return_exceptions=True)


async def test_items_that_arrive_during_a_commit_share_the_next_one_in_order():
    store = Transactions()
    group = GroupCommit(store.write)
    store.hold.clear()
    first = asyncio.create_task(group.submit("a"))
    await store.started.wait()  # "a" is being committed alone
    later = asyncio.gather(*(group.submit(item) for item in ["b", "c", "d"]))
    await asyncio.sleep(0)
    store.hold.set()
    await first
    await later
    assert store.batches == [["a"], ["b", "c", "d"]]
    assert store.committed == ["a", "b", "c", "d"]


async def test_a_caller_returns_only_after_its_own_commit():
    store = Transactions()
    group = GroupCommit(store.write)
    store.hold.clear()
    waiting = asyncio.create_task(group.submit("a"))
    await store.started.wait()
    await asyncio.sleep(0.05)
    assert not waiting.done() and store.committed == []
    store.hold.set()
    await waiting
    assert store.committed == ["a"]


async def test_a_conflict_fails_only_its_caller():
    store = Transactions()
    group = GroupCommit(store.write)
    results = await _submit_all(group, ["a", "taken:b", "c"])
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ConcurrencyConflict)
    assert store.committed == ["a", "c"]


async def test_a_failed_commit_fails_every_caller_of_its_batch_and_the_next_batch_goes_on():
    store = Transactions()
    group = GroupCommit(store.write)
    failed = await _submit_all(group, ["a", "boom", "c"])
    assert all(isinstance(result, OSError) for result in failed)
    assert store.committed == []
    assert await _submit_all(group, ["d"]) == [None]
    assert store.committed == ["d"]


async def test_a_cancelled_caller_leaves_the_others_waiting_for_their_commit():
    store = Transactions()
    group = GroupCommit(store.write)
    store.hold.clear()
    cancelled = asyncio.create_task(group.submit("a"))
    other = asyncio.create_task(group.submit("b"))
    await store.started.wait()
    cancelled.cancel()
    store.hold.set()
    await other
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert store.committed == ["a", "b"]  # cancelling the wait does not undo the append


async def test_a_long_queue_is_written_in_bounded_batches():
    store = Transactions()
    group = GroupCommit(store.write)
    store.hold.clear()
    first = asyncio.create_task(group.submit("first"))
    await store.started.wait()
    items = [str(i) for i in range(MAX_BATCH + 10)]
    queued = asyncio.gather(*(group.submit(item) for item in items))
    await asyncio.sleep(0)
    store.hold.set()
    await first
    await queued
    assert [len(batch) for batch in store.batches] == [1, MAX_BATCH, 10]
    assert store.committed == ["first", *items]
