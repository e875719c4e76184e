"""The offline model: a person trying the service sees their words and their history."""

from __future__ import annotations

from adapters.outbound.offline.echo_chat_model import EchoChatModel
from application.ports.models import ChatMessage
from domain.reply_text import split_parts


async def test_echoes_a_chinese_message_in_chinese():
    answer = (await EchoChatModel().complete([ChatMessage("user", "你好，机器人")], 200)).text

    assert answer == "（离线模型）你说：你好，机器人\n我记得之前的 0 条消息。"


async def test_answers_an_english_message_in_english():
    answer = (await EchoChatModel().complete([ChatMessage("user", "hello there")], 200)).text

    assert answer == "(offline model) You said: hello there\nI remember 0 earlier message(s)."


async def test_counts_the_earlier_user_messages_it_was_given():
    messages = [
        ChatMessage("system", "be brief"),
        ChatMessage("user", "第一句"),
        ChatMessage("assistant", "（离线模型）你说：第一句"),
        ChatMessage("user", "第二句"),
        ChatMessage("assistant", "（离线模型）你说：第二句"),
        ChatMessage("user", "第三句"),
    ]

    answer = (await EchoChatModel().complete(messages, 200)).text

    assert answer.startswith("（离线模型）你说：第三句\n")
    assert "之前的 2 条消息" in answer


async def test_a_long_message_is_echoed_whole_for_a_long_answer_in_parts():
    answer = (await EchoChatModel().complete([ChatMessage("user", "字" * 900)], 1000)).text

    assert "你说：" + "字" * 900 + "\n" in answer
    assert len(split_parts(answer)) == 2


async def test_the_echo_stops_at_max_tokens():
    answer = (await EchoChatModel().complete([ChatMessage("user", "字" * 10_000)], 1000)).text

    assert "字" * 1000 + "…" in answer
    assert len(answer) < 1100


async def test_a_small_max_tokens_cuts_the_echo_shorter():
    answer = (await EchoChatModel().complete([ChatMessage("user", "一二三四五六七八九十")], 4)).text

    assert "你说：一二三四…\n" in answer
