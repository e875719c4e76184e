"""Messages the company sends first: split at 2048 bytes, paced like every message to a
member, recorded, and sent exactly once per idempotency key; every failure recorded."""

from __future__ import annotations

import pytest

from application.announcements.send_announcement import (
    Announcement,
    CannotSendFirst,
    KeyReused,
    SendAnnouncement,
)
from application.channels.app.app_announcer import AppAnnouncer
from application.channels.app.send_pacer import SendPacer
from application.pipeline.channel import UnknownChannel
from application.ports.wecom import Recipients
from domain.announcements import FAILED, SENT
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.wecom import FakeWeComGateway
from tests.unit.application.conftest import FakeClock

LONG = "\n\n".join(f"第{i}条。" + "本周安排如下。" * 60 for i in range(3))


class Rig:
    def __init__(self, pacer_limits=((30, 60.0),)):
        self.store = InMemoryEventStore()
        self.wecom = FakeWeComGateway(invalid_users={"ghost"})
        self.clock = FakeClock()
        self.waits: list[float] = []

        async def sleep(seconds: float) -> None:
            self.waits.append(seconds)
            self.clock.now += seconds

        pacer = SendPacer(pacer_limits, clock=self.clock, sleep=sleep)
        announcers = {"app:hr": AppAnnouncer(self.wecom, pacer), "aibot:team": None}
        self.send = SendAnnouncement(self.store, announcers, clock=self.clock)


def announcement(key="k1", content="周五下午三点全员会", users=("zhangsan",), **changes):
    fields = dict(
        idempotency_key=key, channel="app:hr", recipients=Recipients(users=users),
        msgtype="text", content=content, requested_from="10.0.0.1",
    )
    return Announcement(**(fields | changes))


async def test_a_long_message_is_sent_in_parts_of_at_most_2048_bytes_and_recorded():
    rig = Rig()
    outcome, first = await rig.send(announcement(content=LONG))

    assert first and outcome.status == SENT
    parts = [content for _, _, content in rig.wecom.announced]
    assert len(parts) == 3 and "".join(parts) == LONG
    assert all(len(part.encode()) <= 2048 for part in parts)
    assert [type(e).__name__ for e in rig.store.log] == [
        "AnnouncementRequested", *["AnnouncementPartSent"] * 3, "AnnouncementSent",
    ]


async def test_a_retried_request_gets_the_first_result_and_nothing_is_sent_again():
    rig = Rig()
    await rig.send(announcement())
    outcome, first = await rig.send(announcement())

    assert (first, outcome.status, outcome.sent_parts) == (False, SENT, 1)
    assert len(rig.wecom.announced) == 1
    with pytest.raises(KeyReused):
        await rig.send(announcement(content="另一条消息"))


async def test_unknown_members_are_reported_per_recipient_not_as_a_failure():
    rig = Rig()
    outcome, _ = await rig.send(announcement(users=("zhangsan", "ghost")))
    assert (outcome.status, outcome.invalid_users) == (SENT, ("ghost",))

    nobody, _ = await rig.send(announcement(key="k2", users=("ghost",)))
    assert (nobody.status, nobody.invalid_users, nobody.errcode) == (FAILED, ("ghost",), 81013)


async def test_a_refusal_from_wecom_is_recorded_with_its_reason_and_stops_the_parts():
    rig = Rig()
    rig.wecom.fail_next(permanent=True, errcode=60020, reason="IP not trusted")
    outcome, _ = await rig.send(announcement(content=LONG))

    assert (outcome.status, outcome.sent_parts, outcome.error) == (FAILED, 0, "IP not trusted")
    assert rig.wecom.announced == []


async def test_a_member_is_paced_within_wecoms_limits():
    rig = Rig(pacer_limits=((2, 60.0),))
    await rig.send(announcement(content=LONG))
    assert rig.waits == [pytest.approx(60.0)]  # the third part waits for the minute to pass


async def test_a_channel_that_cannot_send_first_or_does_not_exist_is_refused():
    rig = Rig()
    with pytest.raises(CannotSendFirst):
        await rig.send(announcement(channel="aibot:team"))
    with pytest.raises(UnknownChannel):
        await rig.send(announcement(channel="app:nope"))
    assert rig.store.log == []
