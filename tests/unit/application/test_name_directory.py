"""The name directory's cache of WeCom's members, against the hand-written WeCom fake."""

from __future__ import annotations

from application.channels.app.name_directory import MEMBER_SECONDS, NameDirectory
from tests.fakes.wecom import FakeWeComGateway


def directory_at(clock: list[float]) -> tuple[NameDirectory, FakeWeComGateway]:
    wecom = FakeWeComGateway(
        names={"alice": "张三", "bob": "李四", "carol": "王五"},
        departments={"alice": (2, 7), "bob": tuple([2, 7]), "carol": (3,)},  # two copies
    )
    return NameDirectory(wecom, clock=lambda: clock[0]), wecom


async def test_a_member_is_asked_once_an_hour_and_departments_are_shared_not_copied():
    clock = [0.0]
    directory, wecom = directory_at(clock)
    alice, bob = await directory.departments("alice"), await directory.departments("bob")
    assert alice == bob == (2, 7) and alice is bob
    assert await directory.departments("carol") == (3,)
    assert await directory.member_name("alice") == "张三" and wecom.member_lookups == 3
    clock[0] = MEMBER_SECONDS + 1
    assert await directory.departments("alice") == (2, 7) and wecom.member_lookups == 4


async def test_a_member_wecom_does_not_know_has_no_departments_and_is_named_by_id():
    directory, _ = directory_at([0.0])
    assert await directory.departments("mallory") is None
    assert await directory.member_name("mallory") == "mallory"
