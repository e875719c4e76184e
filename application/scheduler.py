"""A bounded pool of workers over conversations: one conversation strictly in order,
different conversations in parallel.

The store is the queue: a worker asked to look at a conversation handles that
conversation's unsettled messages oldest first, until none is left. So a restart, which
simply asks every conversation with unsettled messages to be looked at, loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from application.ports import EventStore

log = logging.getLogger(__name__)


class ConversationScheduler:
    def __init__(
        self,
        store: EventStore,
        handle: Callable[[str], Awaitable[None]],
        workers: int,
    ):
        self._store = store
        self._handle = handle
        self._slots = asyncio.Semaphore(workers)
        self._active: dict[str, asyncio.Task[None]] = {}
        # Conversations notified while their worker was already busy: look once more.
        self._again: set[str] = set()

    def notify(self, conversation_id: str) -> None:
        if conversation_id in self._active:
            self._again.add(conversation_id)
            return
        task = asyncio.create_task(self._drain(conversation_id))
        self._active[conversation_id] = task
        task.add_done_callback(lambda _: self._active.pop(conversation_id, None))

    async def resume_pending(self) -> int:
        """Look at every conversation that has unsettled messages; returns how many."""
        conversations = {item.conversation_id for item in await self._store.pending()}
        for conversation_id in conversations:
            self.notify(conversation_id)
        return len(conversations)

    async def idle(self) -> None:
        """Wait until no conversation has a worker (for tests and graceful shutdown)."""
        while self._active:
            await asyncio.gather(*self._active.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._active.values()):
            task.cancel()
        await asyncio.gather(*self._active.values(), return_exceptions=True)

    async def _drain(self, conversation_id: str) -> None:
        async with self._slots:
            while True:
                self._again.discard(conversation_id)
                pending = await self._store.pending(conversation_id)
                for item in pending:
                    try:
                        await self._handle(item.stream_id)
                    except Exception:
                        # The message stays unsettled in the store and is tried again on
                        # the next notification or restart; later ones must not jump it.
                        log.exception("handling %s failed; it stays queued", item.stream_id)
                        return
                if not pending and conversation_id not in self._again:
                    return
