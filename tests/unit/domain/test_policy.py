from dataclasses import replace

import pytest

from domain.policy import (
    AskModel,
    ChatRules,
    DrawImage,
    Ignore,
    Notify,
    RefuseTooLong,
    ResetMemory,
    ShowHelp,
    Transcribe,
    match_prefix,
)
from domain.policy import (
    decide_app_message as decide,
)
from domain.tokens import estimate_tokens
from tests.support.events import text_message

RULES = ChatRules()


def decide_text(content: str, rules: ChatRules = RULES):
    return decide(text_message(content), rules, estimate_tokens)


@pytest.mark.parametrize("prefixes", [(), ("",), ("bot", "")])
def test_empty_prefix_list_or_empty_prefix_means_every_message_triggers(prefixes):
    rules = ChatRules(single_chat_prefix=prefixes)
    assert decide_text("hello there", rules) == AskModel("hello there")


def test_a_message_without_a_configured_prefix_is_ignored_with_a_reason():
    rules = ChatRules(single_chat_prefix=("bot",))
    decision = decide_text("hello", rules)
    assert isinstance(decision, Ignore)
    assert "single_chat_prefix" in decision.reason


def test_the_matched_prefix_and_surrounding_space_are_stripped():
    rules = ChatRules(single_chat_prefix=("小知", "@小知"))
    assert decide_text("  @小知  明天天气怎么样？ ", rules) == AskModel("明天天气怎么样？")
    assert decide_text("小知你好", rules) == AskModel("你好")


def test_the_longest_matching_prefix_wins():
    assert match_prefix("botty hi", ("bot", "botty")) == "botty"


def test_only_the_prefix_is_ignored():
    rules = ChatRules(single_chat_prefix=("bot",))
    assert isinstance(decide_text("bot   ", rules), Ignore)


@pytest.mark.parametrize("command", ["#清除记忆", "#reset", "#RESET", " #reset "])
def test_reset_commands(command):
    assert decide_text(command) == ResetMemory()


@pytest.mark.parametrize("command", ["#help", "#帮助"])
def test_help_commands(command):
    assert decide_text(command) == ShowHelp()


def test_commands_work_after_a_prefix():
    rules = ChatRules(single_chat_prefix=("bot",))
    assert decide_text("bot #reset", rules) == ResetMemory()


def test_a_message_over_the_single_message_budget_is_refused_with_its_size():
    rules = ChatRules(max_single_msg_tokens=10)
    decision = decide_text("字" * 25, rules)
    assert decision == RefuseTooLong(tokens=25, limit=10)


def test_a_message_at_the_budget_is_asked():
    rules = ChatRules(max_single_msg_tokens=10)
    assert decide_text("字" * 10, rules) == AskModel("字" * 10)


def test_a_welcome_on_entering_the_app_when_configured():
    enter = replace(text_message(""), msg_type="event", event="enter_agent", msg_id="")
    assert decide(enter, ChatRules(welcome_message="欢迎！"), estimate_tokens) == Notify(
        "welcome", "欢迎！"
    )
    assert "enter_agent" in decide(enter, RULES, estimate_tokens).reason
    click = replace(enter, event="click")
    assert isinstance(decide(click, ChatRules(welcome_message="欢迎！"), estimate_tokens), Ignore)


@pytest.mark.parametrize("msg_type", ["image", "video", "location", "link", "file"])
def test_types_the_model_cannot_use_get_a_short_notice_or_nothing(msg_type):
    message = replace(text_message(""), msg_type=msg_type)
    assert decide(message, RULES, estimate_tokens).kind == "unsupported"
    quiet = ChatRules(unsupported_reply=False)
    assert msg_type in decide(message, quiet, estimate_tokens).reason


def test_a_message_type_wecom_adds_later_is_ignored_without_a_reply():
    message = replace(text_message(""), msg_type="hologram")
    decision = decide(message, RULES, estimate_tokens)
    assert isinstance(decision, Ignore) and "hologram" in decision.reason


# Groups

GROUP_RULES = ChatRules(
    group_chat_prefix=("小知", "@小知"), group_name_white_list=("南开知识社区",)
)


def in_group(content: str, msg_type: str = "text"):
    return replace(text_message(content), chat_id="wrkSFfCgAAxxxx", msg_type=msg_type)


def decide_group(content: str, rules: ChatRules = GROUP_RULES, name: str | None = "南开知识社区"):
    return decide(in_group(content), rules, estimate_tokens, group_name=name)


@pytest.mark.parametrize(
    "content, prompt",
    [
        ("小知 明天开会吗", "明天开会吗"),
        ("小知，明天开会吗", "明天开会吗"),
        ("@小知 明天开会吗", "明天开会吗"),
        ("  @小知：明天开会吗  ", "明天开会吗"),
        ("小知明天开会吗", "明天开会吗"),
    ],
)
def test_a_whitelisted_group_message_with_the_prefix_is_asked(content, prompt):
    assert decide_group(content) == AskModel(prompt)


def test_a_mention_satisfies_a_prefix_written_without_the_at_sign():
    rules = replace(GROUP_RULES, group_chat_prefix=("小知",))
    assert decide_group("@小知 你好", rules) == AskModel("你好")


def test_a_group_message_without_the_prefix_is_ignored_with_a_reason():
    decision = decide_group("大家好")
    assert isinstance(decision, Ignore) and "group_chat_prefix" in decision.reason


def test_a_group_off_the_whitelist_is_ignored_and_named():
    decision = decide_group("小知 你好", name="闲聊群")
    assert isinstance(decision, Ignore)
    assert "闲聊群" in decision.reason and "group_name_white_list" in decision.reason


def test_all_group_admits_every_group_even_unnamed():
    rules = replace(GROUP_RULES, group_name_white_list=("ALL_GROUP",))
    assert decide_group("小知 你好", rules, name="闲聊群") == AskModel("你好")
    assert decide_group("小知 你好", rules, name=None) == AskModel("你好")


def test_an_empty_whitelist_admits_no_group():
    rules = replace(GROUP_RULES, group_name_white_list=())
    decision = decide_group("小知 你好", rules)
    assert isinstance(decision, Ignore) and "empty" in decision.reason


def test_a_group_whose_name_is_unknown_is_not_whitelisted():
    decision = decide_group("小知 你好", name=None)
    assert isinstance(decision, Ignore) and "wrkSFfCgAAxxxx" in decision.reason


@pytest.mark.parametrize("prefixes", [(), ("",)])
def test_empty_group_prefixes_mean_every_message_of_a_whitelisted_group(prefixes):
    rules = replace(GROUP_RULES, group_chat_prefix=prefixes)
    assert decide_group("随便说说", rules) == AskModel("随便说说")


def test_private_prefixes_do_not_apply_in_groups_nor_group_prefixes_in_private():
    rules = replace(GROUP_RULES, single_chat_prefix=("bot",))
    assert decide_group("bot 你好", rules) == Ignore("no group_chat_prefix matched")
    assert isinstance(decide_text("小知 你好", rules), Ignore)


def test_group_commands_work_after_the_prefix():
    assert decide_group("小知 #reset") == ResetMemory()


def test_non_text_group_messages_are_ignored_quietly():
    image = in_group("", msg_type="image")
    decision = decide(image, GROUP_RULES, estimate_tokens, group_name="南开知识社区")
    assert isinstance(decision, Ignore)


# Images

IMAGE_RULES = replace(GROUP_RULES, image_create_prefix=("画", "生成图片", "创建图像"))


def test_an_image_prefix_asks_for_a_picture():
    assert decide_text("画 一只猫", IMAGE_RULES) == DrawImage("一只猫")
    assert decide_text("生成图片：日落下的海边", IMAGE_RULES) == DrawImage("日落下的海边")


def test_the_image_prefix_comes_after_the_group_prefix():
    assert decide_group("小知 画一只猫", IMAGE_RULES) == DrawImage("一只猫")
    assert isinstance(decide_group("画一只猫", IMAGE_RULES), Ignore)


def test_no_image_prefixes_means_no_pictures():
    assert decide_text("画 一只猫") == AskModel("画 一只猫")


def test_an_image_prefix_with_nothing_to_draw_is_ignored():
    assert isinstance(decide_text("画", IMAGE_RULES), Ignore)


# Voice

VOICE_RULES = replace(GROUP_RULES, speech_recognition=True, single_chat_prefix=("bot",))


def voice(group: bool = False):
    message = replace(text_message(""), msg_type="voice", media_id="MEDIA")
    return replace(message, chat_id="wrkSFfCgAAxxxx") if group else message


def test_a_voice_message_is_transcribed_first():
    assert decide(voice(), VOICE_RULES, estimate_tokens) == Transcribe()


def test_a_private_transcript_is_asked_without_any_prefix():
    assert decide(voice(), VOICE_RULES, estimate_tokens, said="明天天气") == AskModel("明天天气")


def test_a_group_transcript_needs_the_group_prefix():
    named = {"group_name": "南开知识社区"}
    assert decide(
        voice(group=True), VOICE_RULES, estimate_tokens, said="小知，明天天气", **named
    ) == AskModel("明天天气")
    decision = decide(voice(group=True), VOICE_RULES, estimate_tokens, said="明天天气", **named)
    assert isinstance(decision, Ignore)


def test_a_spoken_image_request_draws():
    rules = replace(VOICE_RULES, image_create_prefix=("画",))
    assert decide(voice(), rules, estimate_tokens, said="画一只猫") == DrawImage("一只猫")


def test_an_empty_transcript_gets_a_notice():
    notice = decide(voice(), VOICE_RULES, estimate_tokens, said=" ")
    assert notice.kind == "voice not understood"


def test_voice_off_gets_a_short_reply_or_nothing():
    off = replace(VOICE_RULES, speech_recognition=False)
    assert decide(voice(), off, estimate_tokens).kind == "voice off"
    silent = replace(off, voice_off_reply=False)
    assert isinstance(decide(voice(), silent, estimate_tokens), Ignore)
