"""WeCom outages delay replies without losing them; one owner per conversation across
processes; shutdown hands work back."""

from __future__ import annotations

import asyncio
import logging

from application.channels.app.deliver_app_reply import Postponed
from application.channels.app.send_pacer import SendPacer
from application.pipeline.conversation_scheduler import SchedulerSettings
from application.pipeline.operator_alerts import OperatorAlerts
from domain.delivery_policy import FIRST_RETRY_SECONDS, LONGEST_WAIT_SECONDS, retry_delay
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.support.events import received, text_message
from tests.unit.application.conftest import FakeClock, Service


def event_names(service: Service, message) -> list[str]:
    return service.event_types(message)


async def test_a_transient_failure_postpones_the_reply_and_a_later_try_delivers_it_once(service):
    service.wecom.fail_next(reason="WeCom is busy", errcode=-1)
    message = text_message("你好", "1")
    await service.accept(message)
    await service.scheduler.idle()
    assert service.wecom.sent == []
    assert await service.store.pending() != []  # not lost: still waiting

    outcome = await service.handle(message.dedup_key)
    assert outcome == Postponed(service.clock.now + FIRST_RETRY_SECONDS)  # not yet due

    service.clock.now += FIRST_RETRY_SECONDS
    assert await service.handle(message.dedup_key) is None
    assert service.replies_to("zhangsan") == ["answer to: 你好"]
    assert event_names(service, message) == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "DeliveryPostponed",
        "ReplyPartSent", "ReplyDelivered",
    ]
    assert len(service.model.calls) == 1


async def test_a_postponed_message_holds_back_the_rest_of_its_conversation(service):
    service.wecom.fail_next(reason="busy", errcode=45009)
    await service.accept(text_message("first", "1"))
    await service.accept(text_message("second", "2"))
    await service.scheduler.idle()
    assert service.wecom.sent == []
    service.clock.now += FIRST_RETRY_SECONDS
    await service.scheduler.resume_pending()
    await service.scheduler.idle()
    assert service.replies_to("zhangsan") == ["answer to: first", "answer to: second"]


def test_retry_waits_grow_and_are_capped():
    waits = [retry_delay(n, jitter=0.0) for n in range(10)]
    assert waits[:3] == [FIRST_RETRY_SECONDS, 2 * FIRST_RETRY_SECONDS, 4 * FIRST_RETRY_SECONDS]
    assert max(waits) == LONGEST_WAIT_SECONDS
    assert retry_delay(0, jitter=0.99) > retry_delay(0, jitter=0.0)


async def test_a_reply_undeliverable_for_too_long_is_given_up_with_a_reason(service):
    message = text_message("你好", "1")
    await service.store.append([received(message)])  # received at the wall clock's "now"
    service.clock.now = service.store.log[0].occurred_at + 3600
    service.wecom.fail_next(reason="WeCom is busy", errcode=-1)
    await service.handle(message.dedup_key)
    failed = [e for e in service.store.log if type(e).__name__ == "DeliveryFailed"]
    assert "gave up after 3600s" in failed[0].reason
    assert await service.store.pending() == []


async def test_a_permanent_refusal_is_reported_to_the_operator_once_per_cause(service, caplog):
    caplog.set_level(logging.ERROR, logger="weworktop.operator")
    advice = "add this server's IP to the app's trusted IPs"
    service.wecom.fail_next(3, permanent=True, errcode=60020, reason=advice)
    for n in range(3):
        await service.say(text_message(f"m{n}", str(n), user=f"user{n}"))
    alerts = [r.getMessage() for r in caplog.records if r.name == "weworktop.operator"]
    assert len(alerts) == 1
    assert "errcode 60020" in alerts[0] and advice in alerts[0]
    assert await service.store.pending() == []


def test_operator_alerts_summarise_repeats_after_the_quiet_period(caplog):
    clock = FakeClock()
    alerts = OperatorAlerts(quiet_seconds=600, clock=clock)
    with caplog.at_level(logging.ERROR, logger="weworktop.operator"):
        for _ in range(4):
            alerts.delivery_refused("errcode 60020", "trust the IP")
        clock.now += 601
        alerts.delivery_refused("errcode 60020", "trust the IP")
        alerts.delivery_refused("errcode 40001", "fix the secret")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "3 more replies refused" in messages[1]
    assert "40001" in messages[2]


async def test_messages_to_one_member_are_paced_to_wecoms_limit():
    clock = FakeClock(0.0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    pacer = SendPacer(limits=((30, 60.0),), clock=clock, sleep=sleep)
    for _ in range(30):
        await pacer.wait_turn("alice")
        clock.now += 0.1
    await pacer.wait_turn("bob")  # another member is not held back
    assert slept == []
    await pacer.wait_turn("alice")
    assert slept and abs(sum(slept) - (60.0 - 3.0)) < 1e-6


async def test_a_conversation_leased_by_another_process_is_left_to_it():
    leases = InMemoryLeaseStore()
    await leases.acquire("conversation:app:default/user:zhangsan", "other-process", 30)
    service = Service(leases=leases)
    await service.say(text_message("你好", "1"))
    assert service.wecom.sent == []
    assert len(await service.store.pending()) == 1


async def test_a_dead_processs_lease_expires_and_the_sweep_takes_its_work_over():
    clock = FakeClock()
    leases = InMemoryLeaseStore(clock)
    await leases.acquire("conversation:app:default/user:zhangsan", "dead-process", 30)
    service = Service(leases=leases, clock=clock)
    await service.say(text_message("你好", "1"))
    assert service.wecom.sent == []
    clock.now += 31
    await service.scheduler.resume_pending()  # what the periodic sweep does
    await service.scheduler.idle()
    assert service.replies_to("zhangsan") == ["answer to: 你好"]
    assert leases.leases == {}  # let go once the conversation is drained


class BlockingModel:
    def __init__(self):
        self.started = asyncio.Event()

    async def complete(self, messages, max_tokens):
        self.started.set()
        await asyncio.sleep(3600)


async def test_shutdown_hands_unfinished_work_back_within_the_grace_period():
    model = BlockingModel()
    service = Service(model=model, settings=SchedulerSettings(shutdown_grace_seconds=0.05))
    await service.accept(text_message("你好", "1"))
    await model.started.wait()
    await asyncio.wait_for(service.scheduler.close(), timeout=2)
    assert len(await service.store.pending()) == 1  # handed back, not lost
    assert service.leases.leases == {}
    await service.accept(text_message("after close", "2"))
    assert len(await service.store.pending()) == 2  # recorded, left for the next process


async def test_the_pacer_forgets_members_who_went_quiet():
    clock = FakeClock(0.0)
    pacer = SendPacer(limits=((30, 60.0),), clock=clock)
    for n in range(3000):
        await pacer.wait_turn(f"member{n}")
    clock.now += 61
    await pacer.wait_turn("member-after")
    for n in range(2000):
        await pacer.wait_turn(f"late{n}")
    assert pacer.tracked_members() < 3000  # the quiet 3000 were swept, the active ones kept
