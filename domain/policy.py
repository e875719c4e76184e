"""Whether and how to answer a message: the product's trigger rules, as pure functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.messages import InboundMessage

RESET_COMMANDS = ("#清除记忆", "#reset")
HELP_COMMANDS = ("#help", "#帮助")


@dataclass(frozen=True)
class ChatRules:
    single_chat_prefix: tuple[str, ...] = ("",)
    single_chat_reply_prefix: str = ""
    conversation_max_tokens: int = 4000
    max_single_msg_tokens: int = 1000


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class ResetMemory:
    pass


@dataclass(frozen=True)
class ShowHelp:
    pass


@dataclass(frozen=True)
class RefuseTooLong:
    tokens: int
    limit: int


@dataclass(frozen=True)
class AskModel:
    prompt: str


Decision = Ignore | ResetMemory | ShowHelp | RefuseTooLong | AskModel


def match_prefix(content: str, prefixes: tuple[str, ...]) -> str | None:
    """The prefix that triggers `content`, or None. No prefixes, or "", means all trigger."""
    if not prefixes or "" in prefixes:
        return ""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if content.startswith(prefix):
            return prefix
    return None


def decide(
    message: InboundMessage, rules: ChatRules, count_tokens: Callable[[str], int]
) -> Decision:
    if message.msg_type == "event":
        return Ignore(f"event '{message.event}' needs no answer")
    if message.msg_type != "text":
        return Ignore(f"'{message.msg_type}' messages are not answered")
    if message.is_group:
        return Ignore("group chats are not answered by this version")
    content = message.content.strip()
    prefix = match_prefix(content, rules.single_chat_prefix)
    if prefix is None:
        return Ignore("no single_chat_prefix matched")
    prompt = content[len(prefix) :].strip()
    if not prompt:
        return Ignore("nothing left after the prefix")
    command = prompt.lower()
    if command in RESET_COMMANDS:
        return ResetMemory()
    if command in HELP_COMMANDS:
        return ShowHelp()
    tokens = count_tokens(prompt)
    if tokens > rules.max_single_msg_tokens:
        return RefuseTooLong(tokens=tokens, limit=rules.max_single_msg_tokens)
    return AskModel(prompt=prompt)
