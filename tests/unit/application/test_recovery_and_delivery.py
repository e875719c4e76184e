"""Interrupted work is finished, not repeated; undeliverable replies are recorded as such."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from application.ports.models import ChatAnswer
from domain.events import ReplyPartSent
from tests.support.events import answered, received, text_message
from tests.unit.application.conftest import Service


async def test_a_received_but_unhandled_message_is_answered_after_a_restart(service):
    message = text_message("你好", "1")
    await service.store.append([received(message)])  # the process died before handling
    assert await service.scheduler.resume_pending() == 1
    await service.scheduler.idle()
    assert service.replies_to("zhangsan") == ["answer to: 你好"]


async def test_a_composed_reply_is_finished_without_asking_the_model_again(service):
    message = text_message("你好", "1")
    reply = replace(answered(message, "AB"), parts=("A", "B"))
    first_part = ReplyPartSent(
        stream_id=message.dedup_key, version=3, conversation_id=message.conversation_id, index=0
    )
    await service.store.append([received(message)])
    await service.store.append([reply, first_part])
    await service.scheduler.resume_pending()
    await service.scheduler.idle()
    assert service.replies_to("zhangsan") == ["B"]
    assert service.model.calls == []


async def test_a_settled_message_is_not_handled_again(service):
    message = text_message("你好", "1")
    await service.say(message)
    await service.handle(message.dedup_key)
    assert len(service.wecom.sent) == 1


async def test_an_undeliverable_reply_is_recorded_with_its_reason_and_settles(service):
    service.wecom.fail_next(permanent=True, errcode=60020, reason="IP not trusted")
    message = text_message("你好", "1")
    await service.say(message)
    failed = [e for e in service.store.log if type(e).__name__ == "DeliveryFailed"]
    assert [(f.index, f.reason) for f in failed] == [(0, "IP not trusted")]
    assert await service.store.pending() == []


async def test_a_handler_crash_leaves_the_message_queued_for_the_next_look(service):
    message = text_message("你好", "1")
    original = service.store.read_stream

    async def broken(stream_id):
        raise RuntimeError("database went away")

    service.store.read_stream = broken
    await service.say(message)
    assert [p.stream_id for p in await service.store.pending()] == [message.dedup_key]
    service.store.read_stream = original
    await service.scheduler.resume_pending()
    await service.scheduler.idle()
    assert service.replies_to("zhangsan") == ["answer to: 你好"]


class SlowModel:
    """Answers after a delay; records how many answers were in flight at once."""

    def __init__(self, delay: float):
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self.order: list[str] = []

    async def complete(self, messages, max_tokens):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        self.order.append(messages[-1].content)
        return ChatAnswer("ok")


async def test_one_conversation_is_handled_strictly_in_order():
    model = SlowModel(0.01)
    service = Service(model=model)
    for i in range(5):
        await service.accept(text_message(f"m{i}", str(i)))
    await service.scheduler.idle()
    assert model.order == ["m0", "m1", "m2", "m3", "m4"]
    assert model.most_in_flight == 1


async def test_different_conversations_wait_on_the_model_in_parallel_beyond_the_workers():
    model = SlowModel(0.05)
    service = Service(model=model)  # four workers
    for i in range(10):
        await service.accept(text_message("hi", str(i), user=f"user{i}"))
    await service.scheduler.idle()
    # A worker waiting on the model lends its slot out: the model's own bound applies.
    assert model.most_in_flight == 10
    assert len(service.wecom.sent) == 10


async def test_a_message_arriving_while_its_conversation_is_busy_is_not_stranded():
    model = SlowModel(0.02)
    service = Service(model=model)
    await service.accept(text_message("first", "1"))
    await asyncio.sleep(0.005)  # the worker is now inside the model call
    await service.accept(text_message("second", "2"))
    await service.scheduler.idle()
    assert model.order == ["first", "second"]
