"""A store outage loses nothing and repeats nothing: messages wait in the spool and are
replayed in order, deduplicated; a part WeCom took is held until it can be recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from application.channels.app.deliver_app_reply import DeliverAppReply
from application.channels.app.send_pacer import SendPacer
from application.pipeline.accept_message import AcceptMessage
from application.pipeline.operator_alerts import OperatorAlerts
from application.pipeline.spooled_intake import SpooledIntake
from application.ports.event_store import StoreUnavailable
from application.ports.message_spool import SpoolRefused
from domain.events import Event, MessageReceived, ReplyComposed
from domain.message_progress import MessageProgress
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import received, text_message


class OutageStore(InMemoryEventStore):
    """The in-memory store, whose appends fail with StoreUnavailable while `down`."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def append(self, new_events: Sequence[Event]) -> None:
        if self.down:
            raise StoreUnavailable("append failed: OperationalError: database or disk is full")
        await super().append(new_events)


class InMemorySpool:
    def __init__(self, max_messages: int = 100):
        self.waiting: dict[int, MessageReceived] = {}
        self._ids = iter(range(1, 10**6))
        self._max = max_messages

    @property
    def count(self) -> int:
        return len(self.waiting)

    async def put(self, event: MessageReceived) -> bool:
        if any(w.stream_id == event.stream_id for w in self.waiting.values()):
            return False
        if len(self.waiting) >= self._max:
            raise SpoolRefused("the spool is full")
        self.waiting[next(self._ids)] = event
        return True

    async def oldest(self, limit: int) -> list[tuple[int, MessageReceived]]:
        return sorted(self.waiting.items())[:limit]

    async def remove(self, spool_id: int) -> None:
        del self.waiting[spool_id]


class Notified(list):
    def notify(self, conversation_id: str) -> None:
        self.append(conversation_id)


@pytest.fixture
def outage():
    store, spool, notified = OutageStore(), InMemorySpool(max_messages=3), Notified()
    intake = SpooledIntake(store, spool, notified, retry_seconds=(0.001, 0.001))
    return store, spool, notified, intake, AcceptMessage(store, notified, intake=intake)


def received_ids(store: InMemoryEventStore) -> list[str]:
    return [e.message.msg_id for e in store.log if isinstance(e, MessageReceived)]


async def test_messages_wait_in_the_spool_and_are_replayed_in_order_without_duplicates(outage):
    store, spool, notified, intake, accept = outage
    assert await accept(text_message("before", "1"))
    store.down = True
    assert await accept(text_message("a", "2"))
    assert await accept(text_message("a retried by WeCom", "1"))  # recorded before: deduped later
    assert not await accept(text_message("b", "2"))  # a retry of a spooled message
    assert spool.count == 2 and intake.state().store_failing_since is not None
    store.down = False
    assert await accept(text_message("c", "3"))  # the store is back, but "2" waits: behind it
    assert spool.count == 3
    replay = asyncio.create_task(intake.run())
    for _ in range(100):
        if not spool.count:
            break
        await asyncio.sleep(0.01)
    replay.cancel()
    assert received_ids(store) == ["1", "2", "3"]
    assert intake.state().store_failing_since is None
    assert await accept(text_message("d", "4")) and received_ids(store)[-1] == "4"


async def test_with_the_spool_full_too_the_callback_is_refused(outage):
    store, spool, _, intake, accept = outage
    store.down = True
    for n in range(3):
        await accept(text_message("x", str(n)))
    with pytest.raises(StoreUnavailable, match="full"):
        await accept(text_message("one too many", "9"))
    assert intake.state().spool_refusing is not None


async def test_replay_waits_while_the_store_is_still_down(outage):
    store, spool, _, intake, accept = outage
    store.down = True
    await accept(text_message("a", "1"))
    replay = asyncio.create_task(intake.run())
    await asyncio.sleep(0.05)
    assert spool.count == 1 and store.log == []
    store.down = False
    for _ in range(100):
        if not spool.count:
            break
        await asyncio.sleep(0.01)
    replay.cancel()
    assert received_ids(store) == ["1"]


class TakesThenStoreFails(FakeWeComGateway):
    """WeCom takes each part; the store goes down the moment the first is taken."""

    def __init__(self, store: OutageStore):
        super().__init__()
        self._store = store

    async def send_text(self, to_user: str, content: str) -> str:
        msg_id = await super().send_text(to_user, content)
        self._store.down = True
        return msg_id


async def test_a_part_wecom_took_is_not_sent_again_after_its_record_failed():
    store = OutageStore()
    wecom = TakesThenStoreFails(store)
    deliver = DeliverAppReply(store, wecom, SendPacer(), OperatorAlerts(), 3600)
    deliver._records._retry_seconds = 0.01  # the retry's duration is not what is tested
    message = text_message("长问题")
    progress = MessageProgress.from_events([received(message)])
    await store.append([received(message)])
    reply = progress.record(
        ReplyComposed, to_user="zhangsan", text="一。二", parts=("一", "二")
    )
    await store.append([reply])

    with pytest.raises(StoreUnavailable):
        await deliver(MessageProgress.from_events(await store.read_stream(message.dedup_key)))
    assert [content for _, content in wecom.sent] == ["一"]

    # Still down: the held fact cannot be recorded, so nothing is sent.
    with pytest.raises(StoreUnavailable):
        await deliver(MessageProgress.from_events(await store.read_stream(message.dedup_key)))
    assert [content for _, content in wecom.sent] == ["一"]

    store.down = False
    wecom.send_text = FakeWeComGateway.send_text.__get__(wecom)  # the store stays up now
    await deliver(MessageProgress.from_events(await store.read_stream(message.dedup_key)))
    assert [content for _, content in wecom.sent] == ["一", "二"]
    assert MessageProgress.from_events(await store.read_stream(message.dedup_key)).settled
