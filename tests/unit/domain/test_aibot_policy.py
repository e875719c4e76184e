"""The product's rules applied to messages that reach the AI bot: one set of rules for both
ways in, with the differences the AI bot's protocol makes."""

from dataclasses import replace

import pytest

from domain import notices
from domain.messages import DEFAULT_AIBOT_CHANNEL, GROUP_MEMORY_PER_MEMBER, InboundMessage
from domain.policy import (
    AskModel,
    ChatRules,
    Ignore,
    Notify,
    ResetMemory,
    decide_aibot_message,
    strip_mention,
)
from domain.tokens import estimate_tokens
from tests.support.events import text_message

RULES = ChatRules(group_name_white_list=("wrkGroupA",), group_chat_prefix=("小知", "@小知"))


def aibot(content: str, chat_id: str = "", msg_type: str = "text") -> InboundMessage:
    return InboundMessage(
        msg_type=msg_type, from_user="zhangsan", create_time=1_700_000_000, agent_id=0,
        msg_id="MSG1", content=content, chat_id=chat_id, channel=DEFAULT_AIBOT_CHANNEL,
        response_url="https://example.invalid/r",
    )


def decided(message: InboundMessage, rules: ChatRules = RULES):
    return decide_aibot_message(message, rules, estimate_tokens)


@pytest.mark.parametrize(
    ("content", "question"),
    [
        ("@小知 周会几点？", "周会几点？"),
        ("@小知\u2005周会几点？", "周会几点？"),
        ("@AI助手，周会几点？", "周会几点？"),
        ("@AI 助手 周会几点？", "助手 周会几点？"),  # a name with a space needs group_chat_prefix
        ("周会几点？@AI助手", "周会几点？@AI助手"),  # only a leading mention is the bot's
    ],
)
def test_a_group_mention_is_the_trigger_and_is_not_part_of_the_question(content, question):
    assert decided(aibot(content, chat_id="wrkGroupA")) == AskModel(question)


def test_a_configured_prefix_strips_a_bot_name_with_spaces():
    assert strip_mention("@AI 助手 周会几点？", ("AI 助手",)) == "周会几点？"


def test_the_white_list_names_an_ai_bot_group_by_its_chat_id():
    assert decided(aibot("@小知 你好", chat_id="wrkGroupB")) == Ignore(
        "group 'wrkGroupB' is not in group_name_white_list"
    )
    everyone = replace(RULES, group_name_white_list=("ALL_GROUP",))
    assert decided(aibot("@小知 你好", chat_id="wrkGroupB"), everyone) == AskModel("你好")


def test_an_app_group_whose_name_is_unknown_can_be_listed_by_chat_id_too():
    message = replace(text_message("小知 你好"), chat_id="wrkGroupA")
    assert decided(message) == AskModel("你好")


def test_private_ai_bot_messages_follow_single_chat_prefix():
    rules = replace(RULES, single_chat_prefix=("bot",))
    assert decided(aibot("bot 你好"), rules) == AskModel("你好")
    assert decided(aibot("你好"), rules) == Ignore("no single_chat_prefix matched")


def test_voice_arrives_transcribed_and_is_answered_even_with_speech_recognition_off():
    assert decided(aibot("明天几点开会", msg_type="voice")) == AskModel("明天几点开会")
    assert decided(aibot("  ", msg_type="voice")) == Notify(
        "voice not understood", notices.VOICE_NOT_UNDERSTOOD
    )


def test_text_and_pictures_together_are_answered_from_the_text():
    assert decided(aibot("@小知 这张图是什么", "wrkGroupA", "mixed")) == AskModel("这张图是什么")
    assert decided(aibot("", "wrkGroupA", "mixed")) == Notify("unsupported", notices.UNSUPPORTED)


def test_a_picture_or_file_sent_to_the_bot_gets_the_unsupported_notice_even_in_a_group():
    assert decided(aibot("", "wrkGroupA", "image")) == Notify("unsupported", notices.UNSUPPORTED)
    quiet = replace(RULES, unsupported_reply=False)
    assert isinstance(decided(aibot("", msg_type="file"), quiet), Ignore)


def test_drawing_prefixes_do_not_apply_to_the_bot_and_commands_do():
    rules = replace(RULES, image_create_prefix=("画",))
    assert decided(aibot("画 一只猫"), rules) == AskModel("画 一只猫")
    assert decided(aibot("@小知 #reset", "wrkGroupA")) == ResetMemory()


def test_ai_bot_messages_and_conversations_never_share_ids_with_the_app():
    app = replace(text_message("你好", msg_id="MSG1"), agent_id=0)
    bot = aibot("你好")
    assert app.dedup_key != bot.dedup_key == "aibot:default/msg:MSG1"
    assert app.conversation_id != bot.conversation_id
    in_group = aibot("@小知 你好", chat_id="wrkGroupA")
    member_key = in_group.conversation_key(GROUP_MEMORY_PER_MEMBER)
    assert member_key == "aibot:default/group:wrkGroupA:zhangsan"
    assert in_group.conversation_id == "aibot:default/group:wrkGroupA"
