"""Group chats, pictures on request and spoken questions, through the use cases with fakes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from application.ports.models import ChatAnswer
from domain import notices
from domain.messages import GROUP_MEMORY_PER_MEMBER
from domain.policy import ChatRules
from tests.fakes.wecom import LOOKUP, FakeWeComGateway
from tests.support.events import text_message
from tests.unit.application.conftest import Service

CHAT, OTHER_CHAT = "wrkSFfCgAAxxxx", "wrkSFfCgAAyyyy"
RULES = ChatRules(
    group_chat_prefix=("小知", "@小知"),
    group_name_white_list=("南开知识社区",),
    image_create_prefix=("画", "生成图片"),
    speech_recognition=True,
)
VOICE = (Path(__file__).parents[2] / "data" / "voice_hello.amr").read_bytes()


def group_service(rules: ChatRules = RULES) -> Service:
    wecom = FakeWeComGateway(
        chats={CHAT: "南开知识社区", OTHER_CHAT: "闲聊群"},
        names={"zhangsan": "张三", "lisi": "李四"},
        media={"VOICE1": VOICE},
    )
    return Service(rules=rules, wecom=wecom)


def in_group(content: str, msg_id: str, user: str = "zhangsan", chat: str = CHAT):
    return replace(text_message(content, msg_id, user), chat_id=chat)


def voice(msg_id: str, user: str = "zhangsan", chat: str = ""):
    message = replace(text_message("", msg_id, user), msg_type="voice", media_id="VOICE1")
    return replace(message, chat_id=chat)


def ignored_reasons(service: Service) -> list[str]:
    return [e.reason for e in service.store.log if type(e).__name__ == "MessageIgnored"]


async def test_a_whitelisted_group_question_is_answered_in_the_group_naming_the_asker():
    service = group_service()
    await service.say(in_group("@小知 明天开会吗？", "1"))
    assert service.wecom.chat_sent == [(CHAT, "@张三 answer to: 明天开会吗？")]
    assert service.wecom.sent == []


async def test_silence_in_groups_is_recorded_with_its_reason():
    service = group_service()
    await service.say(in_group("大家好", "1"))
    await service.say(in_group("小知 你好", "2", chat=OTHER_CHAT))
    assert service.wecom.chat_sent == []
    assert ignored_reasons(service) == [
        "no group_chat_prefix matched",
        "group '闲聊群' is not in group_name_white_list",
    ]


async def test_a_group_name_is_asked_of_wecom_once_and_cached():
    service = group_service()
    for n in range(3):
        await service.say(in_group(f"小知 问题{n}", str(n)))
    assert len(service.wecom.chat_sent) == 3
    service.wecom.fail_next(on=LOOKUP, times=5)  # WeCom's directory is down: cache still serves
    await service.say(in_group("小知 问题3", "3"))
    assert len(service.wecom.chat_sent) == 4


async def test_an_unknown_asker_is_named_by_user_id():
    service = group_service()
    await service.say(in_group("小知 你好", "1", user="wangwu"))
    assert service.wecom.chat_sent[0][1].startswith("@wangwu ")


async def test_group_memory_is_shared_by_the_group_by_default():
    service = group_service()
    await service.say(in_group("小知 我们组叫火箭队", "1", user="zhangsan"))
    await service.say(in_group("小知 我们组叫什么？", "2", user="lisi"))
    messages, _ = service.model.calls[-1]
    assert "我们组叫火箭队" in [m.content for m in messages]


async def test_group_memory_can_be_per_member():
    service = group_service(replace(RULES, group_memory=GROUP_MEMORY_PER_MEMBER))
    await service.say(in_group("小知 我叫张三", "1", user="zhangsan"))
    await service.say(in_group("小知 我叫什么？", "2", user="lisi"))
    messages, _ = service.model.calls[-1]
    assert "我叫张三" not in [m.content for m in messages]


async def test_a_picture_request_is_drawn_uploaded_and_sent_as_an_image():
    service = group_service()
    await service.say(text_message("画 一只猫", "1"))
    assert service.images.prompts == ["一只猫"]
    [(user, media_id)] = service.wecom.images_sent
    assert user == "zhangsan" and service.wecom.uploaded[media_id].startswith(b"\x89PNG")
    assert service.model.calls == []


async def test_a_picture_in_a_group_goes_to_the_group():
    service = group_service()
    await service.say(in_group("小知 生成图片 日落", "1"))
    assert [chat for chat, _ in service.wecom.chat_images_sent] == [CHAT]


async def test_a_failed_picture_gets_a_plain_reply():
    service = group_service()
    service.images.fail_next("content policy")
    await service.say(text_message("画 一只猫", "1"))
    assert service.replies_to("zhangsan") == [notices.IMAGE_FAILED]


async def test_a_voice_question_is_transcribed_recorded_and_answered():
    service = group_service()
    service.speech.reply_next("明天天气怎么样")
    message = voice("1")
    await service.say(message)
    assert service.converter.converted == [VOICE]
    assert service.replies_to("zhangsan") == ["answer to: 明天天气怎么样"]
    assert service.event_types(message)[:5] == [
        "MessageReceived", "ModelUsed", "VoiceTranscribed", "ModelUsed", "AnswerComposed",
    ]


class CrashingOnceModel:
    """Dies like a killed process the first time (no answer, nothing recorded after)."""

    def __init__(self):
        self.calls = 0

    async def complete(self, messages, max_tokens):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("process killed")
        return ChatAnswer(f"answer to: {messages[-1].content}")


async def test_a_transcript_is_not_asked_for_twice_after_a_crash():
    service = Service(rules=RULES, model=CrashingOnceModel(), wecom=group_service().wecom)
    message = voice("1")
    await service.say(message)
    assert service.replies_to("zhangsan") == []  # the crash left it unanswered...
    await service.scheduler.resume_pending()  # ...until the next look
    await service.scheduler.idle()
    assert service.replies_to("zhangsan") == ["answer to: 你好，这是一条语音"]
    assert len(service.speech.calls) == 1


async def test_a_group_voice_message_needs_the_spoken_prefix():
    service = group_service()
    service.speech.reply_next("小知，几点开会", "几点开会")
    await service.say(voice("1", chat=CHAT))
    await service.say(voice("2", chat=CHAT))
    assert service.wecom.chat_sent == [(CHAT, "@张三 answer to: 几点开会")]
    assert "no group_chat_prefix heard in the voice message" in ignored_reasons(service)


async def test_voice_that_cannot_be_heard_gets_a_plain_reply():
    service = group_service()
    service.speech.fail_next("server down")
    await service.say(voice("1"))
    assert service.replies_to("zhangsan") == [notices.VOICE_FAILED]


async def test_voice_off_says_so():
    service = group_service(replace(RULES, speech_recognition=False))
    await service.say(voice("1"))
    assert service.replies_to("zhangsan") == [notices.VOICE_OFF]
    assert service.speech.calls == []


async def test_a_welcome_on_entering_the_app():
    service = group_service(replace(RULES, welcome_message="欢迎使用小知！"))
    enter = replace(text_message("", ""), msg_type="event", event="enter_agent")
    await service.say(enter)
    assert service.replies_to("zhangsan") == ["欢迎使用小知！"]


async def test_a_photo_gets_told_what_can_be_read():
    service = group_service()
    await service.say(replace(text_message("", "1"), msg_type="image", media_id="x"))
    assert service.replies_to("zhangsan") == [notices.UNSUPPORTED]
