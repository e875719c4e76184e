"""A text conversation through the use cases, with fakes for the store, model and WeCom."""

from __future__ import annotations

from domain import notices
from domain.policy import ChatRules
from tests.support.events import text_message
from tests.unit.application.conftest import Service


async def test_a_message_gets_exactly_one_answer(service):
    assert await service.say(text_message("你好", "1"))
    assert service.replies_to("zhangsan") == ["answer to: 你好"]
    assert service.event_types(text_message("你好", "1")) == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]


async def test_retries_of_a_message_are_acknowledged_and_do_nothing(service):
    message = text_message("你好", "1")
    assert await service.say(message)
    for _ in range(3):
        assert not await service.say(message)
    assert len(service.wecom.sent) == 1
    assert len(service.model.calls) == 1


async def test_the_next_prompt_carries_the_history_with_the_system_prompt_first(service):
    await service.say(text_message("我叫小明", "1"))
    await service.say(text_message("我叫什么？", "2"))
    messages, max_tokens = service.model.calls[-1]
    assert [(m.role, m.content) for m in messages] == [
        ("system", "你是助手"),
        ("user", "我叫小明"),
        ("assistant", "answer to: 我叫小明"),
        ("user", "我叫什么？"),
    ]
    assert max_tokens == ChatRules().max_single_msg_tokens


async def test_conversations_do_not_share_memory(service):
    await service.say(text_message("秘密", "1", user="alice"))
    await service.say(text_message("你好", "2", user="bob"))
    messages, _ = service.model.calls[-1]
    assert "秘密" not in [m.content for m in messages]


async def test_reset_clears_memory_and_says_so(service):
    await service.say(text_message("我叫小明", "1"))
    await service.say(text_message("#清除记忆", "2"))
    await service.say(text_message("我叫什么？", "3"))
    assert service.replies_to("zhangsan")[1] == notices.MEMORY_CLEARED
    messages, _ = service.model.calls[-1]
    assert [m.role for m in messages] == ["system", "user"]
    assert len(service.model.calls) == 2  # the command never reached the model


async def test_help_lists_the_commands(service):
    await service.say(text_message("#help", "1"))
    assert service.replies_to("zhangsan") == [notices.HELP]
    assert service.model.calls == []


async def test_history_is_trimmed_to_the_newest_turns_that_fit():
    service = Service(ChatRules(conversation_max_tokens=120), system_prompt="")
    for i in range(10):
        await service.say(text_message(f"第{i}个问题" + "字" * 10, str(i)))
    messages, _ = service.model.calls[-1]
    remembered = [m.content for m in messages if m.role == "user"][:-1]
    assert 0 < len(remembered) < 9
    assert remembered == [f"第{i}个问题" + "字" * 10 for i in range(9 - len(remembered), 9)]


async def test_a_message_over_the_limit_is_refused_in_plain_words_without_the_model():
    service = Service(ChatRules(max_single_msg_tokens=20))
    await service.say(text_message("长" * 50, "1"))
    [reply] = service.replies_to("zhangsan")
    assert "50" in reply and "20" in reply and "30" in reply
    assert service.model.calls == []


async def test_a_failing_model_gets_a_plain_apology_and_is_not_remembered(service):
    service.model.fail_next("connection refused")
    await service.say(text_message("在吗", "1"))
    assert service.replies_to("zhangsan") == [notices.MODEL_FAILED]
    await service.say(text_message("现在呢", "2"))
    messages, _ = service.model.calls[-1]
    assert "在吗" not in [m.content for m in messages]


async def test_an_empty_model_answer_gets_the_apology(service):
    service.model.reply_next("   ")
    await service.say(text_message("在吗", "1"))
    assert service.replies_to("zhangsan") == [notices.MODEL_FAILED]


async def test_the_reply_prefix_is_put_before_the_answer():
    service = Service(ChatRules(single_chat_reply_prefix="[bot] "))
    await service.say(text_message("hi", "1"))
    assert service.replies_to("zhangsan") == ["[bot] answer to: hi"]


async def test_markdown_answers_arrive_as_plain_text_but_are_remembered_as_written(service):
    service.model.reply_next("**粗体**回答")
    await service.say(text_message("问", "1"))
    await service.say(text_message("再问", "2"))
    assert service.replies_to("zhangsan")[0] == "粗体回答"
    messages, _ = service.model.calls[-1]
    assert messages[2].content == "**粗体**回答"


async def test_a_long_answer_arrives_as_ordered_parts_that_join_back(service):
    answer = "\n".join(f"第{i}行。" + "很长的内容" * 30 for i in range(8))
    service.model.reply_next(answer)
    await service.say(text_message("写长一点", "1"))
    parts = service.replies_to("zhangsan")
    assert len(parts) == 2
    assert "".join(parts) == answer
    assert all(len(p.encode()) <= 2048 for p in parts)


async def test_ignored_messages_record_why(service):
    service = Service(ChatRules(single_chat_prefix=("bot",)))
    message = text_message("hello", "1")
    await service.say(message)
    assert service.wecom.sent == []
    [ignored] = [e for e in service.store.log if type(e).__name__ == "MessageIgnored"]
    assert "single_chat_prefix" in ignored.reason
    assert await service.store.pending() == []
