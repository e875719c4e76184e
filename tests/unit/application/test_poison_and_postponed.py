"""A message that keeps failing unexpectedly is given up after a few tries, and postponed
conversations wait for their retry time quietly: one timer each, untouched by the sweep."""

from __future__ import annotations

import asyncio

from application.pipeline.conversation_scheduler import ConversationScheduler, SchedulerSettings
from application.pipeline.postponed import Postponed
from domain.policy import ChatRules
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.support.events import received, text_message
from tests.unit.application.conftest import FakeClock, Service


class Bug(Exception):
    """An error no adapter translated: what a poison message meets."""


def failing(calls: list[str]):
    async def call(*args) -> str:
        calls.append("called")  # for a picture: one more paid for
        raise Bug("Invalid port: 'abc'")

    return call


async def sweeps(service: Service, count: int) -> None:
    for _ in range(count):
        await service.scheduler.resume_pending()
        await service.scheduler.idle()


def events_named(service: Service, name: str) -> list:
    return [event for event in service.store.log if type(event).__name__ == name]


async def test_a_message_that_keeps_failing_is_given_up_and_the_next_one_is_answered():
    service = Service(rules=ChatRules(image_create_prefix=("画",)))
    drawn: list[str] = []
    service.images.generate = failing(drawn)
    poison, after = text_message("画 一只猫", "1"), text_message("你好", "2")
    await service.say(poison)
    await service.say(after)

    await sweeps(service, 5)

    assert len(drawn) == SchedulerSettings().max_failures == 3  # not one more per sweep
    assert service.event_types(poison) == ["MessageReceived", "MessageIgnored"]
    assert events_named(service, "MessageIgnored")[0].reason == (
        "handling failed 3 times; given up"
    )
    assert service.replies_to("zhangsan") == ["answer to: 你好"]
    assert await service.store.pending() == []


async def test_a_composed_reply_that_keeps_failing_to_go_out_ends_in_delivery_failed():
    service = Service()
    sent: list[str] = []
    service.wecom.send_text = failing(sent)
    message = text_message("你好", "1")
    await service.say(message)

    await sweeps(service, 5)

    assert len(sent) == 3
    assert service.event_types(message) == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "DeliveryFailed"
    ]
    [failed] = events_named(service, "DeliveryFailed")
    assert (failed.index, failed.reason) == (0, "handling failed 3 times; given up")
    assert len(service.model.calls) == 1  # the answer was not asked for again


async def test_failures_while_the_store_does_not_answer_are_not_held_against_the_message():
    service = Service()
    message = text_message("你好", "1")
    service.store.unreachable = True
    broken = failing([])
    real_send = service.wecom.send_text
    service.wecom.send_text = broken
    await service.say(message)
    await sweeps(service, 5)
    assert service.event_types(message) == ["MessageReceived", "ModelUsed", "AnswerComposed"]

    service.store.unreachable = False
    service.wecom.send_text = real_send
    await sweeps(service, 1)
    assert service.replies_to("zhangsan") == ["answer to: 你好"]


class PostponedFor:
    """A handler whose every message waits `seconds` for WeCom, counting its passes."""

    def __init__(self, clock: FakeClock, seconds: float):
        self.clock, self.seconds, self.passes = clock, seconds, 0

    async def __call__(self, stream_id: str) -> Postponed:
        self.passes += 1
        return Postponed(self.clock.now + self.seconds)


async def postponed_world(conversations: int, seconds: float):
    store, clock = InMemoryEventStore(), FakeClock()
    for n in range(conversations):
        await store.append([received(text_message("hi", str(n), user=f"user{n}"))])
    handler = PostponedFor(clock, seconds)
    scheduler = ConversationScheduler(
        store, handler, InMemoryLeaseStore(), "me", SchedulerSettings(), clock=clock
    )
    return scheduler, handler


async def test_the_sweep_leaves_postponed_conversations_alone_until_they_are_due():
    scheduler, handler = await postponed_world(conversations=200, seconds=60)
    for _ in range(10):  # twenty seconds of sweeps
        await scheduler.resume_pending()
        await scheduler.idle()
    assert handler.passes == 200  # once each, not once each per sweep
    await scheduler.close()


async def test_a_postponed_conversation_has_one_timer_however_often_it_is_woken():
    scheduler, handler = await postponed_world(conversations=1, seconds=0.05)
    for _ in range(5):  # new messages, stream hand-overs: explicit looks still run
        scheduler.notify(text_message("hi", "0", user="user0").conversation_id)
        await scheduler.idle()
        await asyncio.sleep(0.01)
    assert handler.passes == 5
    handler.seconds = 3600  # what the timer's look finds: still waiting
    await asyncio.sleep(0.25)
    await scheduler.idle()
    assert handler.passes == 6  # one timer fired, not five
    await scheduler.close()
