from dataclasses import replace

import pytest

from domain.policy import (
    AskModel,
    ChatRules,
    Ignore,
    RefuseTooLong,
    ResetMemory,
    ShowHelp,
    decide,
    match_prefix,
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


def test_events_and_other_message_types_are_ignored_with_reasons():
    subscribe = replace(text_message(""), msg_type="event", event="subscribe", msg_id="")
    image = replace(text_message(""), msg_type="image")
    assert "subscribe" in decide(subscribe, RULES, estimate_tokens).reason
    assert "image" in decide(image, RULES, estimate_tokens).reason


def test_group_messages_are_not_answered_by_the_private_chat_rules():
    group = replace(text_message("你好"), chat_id="wrkSFfCgAAxxxx")
    decision = decide(group, RULES, estimate_tokens)
    assert isinstance(decision, Ignore)
    assert "group" in decision.reason
