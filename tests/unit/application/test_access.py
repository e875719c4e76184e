"""Who may ask: a refused member gets the channel's denied_reply (or silence) and a recorded
reason, and the model is never asked; departments come from WeCom's user/get, cached."""

from __future__ import annotations

from domain.policy import ChatRules
from tests.fakes.wecom import LOOKUP, FakeWeComGateway
from tests.support.events import text_message
from tests.unit.application.conftest import Service

NAMES = {"zhangsan": "张三", "lisi": "李四", "wangwu": "王五"}
DEPARTMENTS = {"zhangsan": (2,), "lisi": (3, 2), "wangwu": (4,)}


def service(**access) -> Service:
    wecom = FakeWeComGateway(names=NAMES, departments=DEPARTMENTS)
    return Service(wecom=wecom, access=access)


def reasons(service: Service) -> list[str]:
    return [getattr(e, "reason", "") for e in service.store.log if hasattr(e, "reason")]


async def test_a_member_outside_the_allowed_departments_gets_the_denied_reply_not_the_model():
    svc = service(allow_departments=[2], denied_reply="本助手仅对研发部开放")
    await svc.say(text_message("你好", "1", "wangwu"))
    await svc.say(text_message("你好", "2", "lisi"))

    assert svc.replies_to("wangwu") == ["本助手仅对研发部开放"]
    assert svc.replies_to("lisi") == ["answer to: 你好"]
    assert len(svc.model.calls) == 1
    assert reasons(svc) == [
        "access denied: wangwu is in neither access.allow_users nor access.allow_departments"
    ]


async def test_without_a_denied_reply_a_refused_member_gets_silence_and_an_ignored_event():
    svc = service(deny_users=["zhangsan"])
    message = text_message("你好", "1", "zhangsan")
    await svc.say(message)

    assert svc.replies_to("zhangsan") == []
    assert svc.event_types(message) == ["MessageReceived", "MessageIgnored"]
    assert reasons(svc) == ["access denied: zhangsan is in access.deny_users"]
    assert svc.model.calls == []


async def test_departments_are_asked_of_wecom_once_per_member_not_for_every_message():
    svc = service(deny_departments=[4])
    for msg_id in range(1, 4):
        await svc.say(text_message("hi", str(msg_id), "lisi"))
    assert svc.wecom.member_lookups == 1


async def test_when_wecom_cannot_say_a_members_departments_the_member_is_refused():
    svc = service(allow_departments=[2])
    svc.wecom.fail_next(times=5, on=LOOKUP)
    await svc.say(text_message("你好", "1", "lisi"))
    assert svc.model.calls == []
    assert reasons(svc) == [
        "access denied: the departments of lisi could not be looked up in WeCom"
    ]


async def test_chatter_the_rules_ignore_anyway_is_not_refused_again():
    svc = Service(
        rules=ChatRules(single_chat_prefix=("bot",)),
        wecom=FakeWeComGateway(names=NAMES, departments=DEPARTMENTS),
        access={"deny_users": ["zhangsan"], "denied_reply": "不对你开放"},
    )
    await svc.say(text_message("随便聊聊", "1", "zhangsan"))
    assert svc.replies_to("zhangsan") == []
    assert reasons(svc) == ["no single_chat_prefix matched"]
