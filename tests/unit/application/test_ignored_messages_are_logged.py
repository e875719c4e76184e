"""Every message that gets no answer says why in the log, as the README promises: each path
that records MessageIgnored writes a line naming the message and the reason."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from application.pipeline.sender_rate_limiter import SenderRateLimiter
from domain.events import MessageIgnored
from domain.policy import ChatRules
from domain.rate_limit import RateLimit
from tests.support.events import received, text_message
from tests.unit.application.conftest import Service


async def rules_ignore(service_for):
    service = service_for(rules=ChatRules(single_chat_prefix=["小知"]))
    await service.say(text_message("no prefix, no answer"))
    return service


async def rate_limit_ignores(service_for):
    service = service_for(rate_limiter=SenderRateLimiter(RateLimit(1, 60)))
    for n in range(3):  # admitted, told to slow down, ignored
        await service.say(text_message(f"q{n}", str(n)))
    return service


async def access_refuses_quietly(service_for):
    service = service_for(access={"deny_users": ["zhangsan"]})
    await service.say(text_message("may I?"))
    return service


async def channel_is_gone(service_for):
    service = service_for()
    message = replace(text_message("for an app removed since"), channel="app:gone")
    await service.store.append([received(message)])
    await service.handle(message.dedup_key)
    return service


@pytest.mark.parametrize(
    "scenario", [rules_ignore, rate_limit_ignores, access_refuses_quietly, channel_is_gone]
)
async def test_every_ignored_message_has_a_log_line_with_its_reason(scenario, caplog):
    caplog.set_level(logging.INFO)
    service = await scenario(Service)

    ignored = [e for e in service.store.log if isinstance(e, MessageIgnored)]
    assert ignored, "the scenario ignored nothing, so nothing was checked"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    for event in ignored:
        assert any(event.stream_id in line and event.reason in line for line in lines), (
            f"{event.stream_id} ignored ({event.reason}) without a log line"
        )
