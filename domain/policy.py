"""Whether and how to answer a message: the product's trigger rules, as pure functions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from domain import notices
from domain.messages import FILE, GROUP_MEMORY_SHARED, PICTURE, Attachment, InboundMessage

RESET_COMMANDS = ("#清除记忆", "#reset")
HELP_COMMANDS = ("#help", "#帮助")
ALL_GROUPS = "ALL_GROUP"
# The app's, and the AI bot's first visit of the day to its private chat (long connection).
WELCOME_EVENTS = ("enter_agent", "subscribe", "enter_chat")
# Kinds WeCom documents that the model cannot use; a kind WeCom adds later is ignored quietly.
UNUSABLE_TYPES = ("image", "video", "location", "link", "file")
# Left after a stripped prefix ("小知，你好", "@小知: hi"), these are not part of the question.
_SEPARATORS = " \t\r\n,，:：、"
# The AI bot's own kinds: voice arrives transcribed, "mixed" is text with pictures.
AIBOT_TEXT_TYPES = ("text", "voice", "mixed")
# How much of a quoted message's text goes into the prompt.
QUOTE_MAX_CHARS = 1000
# "@小知 " (WeCom ends a mention with a space, often U+2005) and any separator after it.
_MENTION = re.compile(r"@[^\s,，:：、]+[\s,，:：、]*")


@dataclass(frozen=True)
class ChatRules:
    single_chat_prefix: tuple[str, ...] = ("",)
    single_chat_reply_prefix: str = ""
    conversation_max_tokens: int = 4000
    max_single_msg_tokens: int = 1000
    group_chat_prefix: tuple[str, ...] = ()
    group_name_white_list: tuple[str, ...] = ()
    group_memory: str = GROUP_MEMORY_SHARED
    image_create_prefix: tuple[str, ...] = ()
    speech_recognition: bool = False
    voice_off_reply: bool = True
    unsupported_reply: bool = True
    welcome_message: str = ""
    image_understanding: bool = False
    image_prompt: str = notices.IMAGE_PROMPT
    file_understanding: bool = False
    file_prompt: str = notices.FILE_PROMPT
    max_image_bytes: int = 10_000_000
    max_file_bytes: int = 20_000_000
    max_prompt_images: int = 4


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


@dataclass(frozen=True)
class Understand:
    """Ask the model about pictures or a file, which are fetched first; `prompt` is the
    member's words, or the channel's image_prompt / file_prompt when there are none."""

    prompt: str
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class DrawImage:
    prompt: str


@dataclass(frozen=True)
class Transcribe:
    """A voice message: its transcript decides what happens next (see `decide`'s `said`)."""


@dataclass(frozen=True)
class Notify:
    """Answer with a fixed notice instead of asking any model; `kind` says why."""

    kind: str
    text: str


Decision = (
    Ignore
    | ResetMemory
    | ShowHelp
    | RefuseTooLong
    | AskModel
    | Understand
    | DrawImage
    | Transcribe
    | Notify
)


def match_prefix(content: str, prefixes: tuple[str, ...]) -> str | None:
    """The prefix that triggers `content`, or None. No prefixes, or "", means all trigger."""
    if not prefixes or "" in prefixes:
        return ""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if content.startswith(prefix):
            return prefix
    return None


def strip_trigger(content: str, prefixes: tuple[str, ...]) -> str | None:
    """The question after its trigger prefix, or None when no prefix matches. A mention such
    as "@小知" satisfies the prefix "小知" as well as "@小知"."""
    content = content.strip()
    for candidate in (content, content.removeprefix("@")):
        prefix = match_prefix(candidate, prefixes)
        if prefix is not None:
            return candidate[len(prefix) :].lstrip(_SEPARATORS).rstrip()
    return None


def group_admitted(group_name: str | None, white_list: tuple[str, ...]) -> bool:
    if ALL_GROUPS in white_list:
        return True
    return group_name is not None and group_name in white_list


def decide_app_message(
    message: InboundMessage,
    rules: ChatRules,
    count_tokens: Callable[[str], int],
    group_name: str | None = None,
    said: str | None = None,
) -> Decision:
    """A message to a self-built app. `group_name` is the group's name from WeCom (group
    messages only; the white list is matched against the chat id when it is unknown); `said`
    is the transcript of a voice message, once there is one."""
    first = _events_and_groups(message, rules, group_name)
    if first is not None:
        return first
    if message.msg_type == "voice":
        return _decide_voice(message, rules, count_tokens, said)
    seen = understood(message.attachments, rules)
    if seen and not message.is_group:
        # A picture has no words, so no prefix: like a voice message, it is always a question.
        return Understand(rules.image_prompt, seen)
    if message.msg_type != "text":
        known = message.msg_type in UNUSABLE_TYPES
        if message.is_group or not rules.unsupported_reply or not known:
            return Ignore(f"'{message.msg_type}' messages are not answered")
        return Notify("unsupported", notices.UNSUPPORTED)
    if message.is_group:
        prompt = strip_trigger(message.content, rules.group_chat_prefix)
        if prompt is None:
            return Ignore("no group_chat_prefix matched")
    else:
        prompt = strip_trigger(message.content, rules.single_chat_prefix)
        if prompt is None:
            return Ignore("no single_chat_prefix matched")
    return _decide_prompt(prompt, rules, count_tokens)


def _events_and_groups(
    message: InboundMessage, rules: ChatRules, group_name: str | None
) -> Decision | None:
    """What every channel decides the same way: events, and groups off the white list."""
    if message.msg_type == "event":
        if message.event in WELCOME_EVENTS and rules.welcome_message and not message.is_group:
            return Notify("welcome", rules.welcome_message)
        return Ignore(f"event '{message.event}' needs no answer")
    group_key = group_name or message.chat_id
    if message.is_group and not group_admitted(group_key, rules.group_name_white_list):
        if not rules.group_name_white_list:
            return Ignore("group_name_white_list is empty, so no group is answered")
        return Ignore(f"group '{group_key}' is not in group_name_white_list")
    return None


def _decide_voice(
    message: InboundMessage,
    rules: ChatRules,
    count_tokens: Callable[[str], int],
    said: str | None,
) -> Decision:
    if not rules.speech_recognition:
        if rules.voice_off_reply and not message.is_group:
            return Notify("voice off", notices.VOICE_OFF)
        return Ignore("speech_recognition is off")
    if said is None:
        return Transcribe()
    if not said.strip():
        return Notify("voice not understood", notices.VOICE_NOT_UNDERSTOOD)
    if not message.is_group:
        # Speaking a prefix is unnatural: a private voice message is always a question.
        return _decide_prompt(said.strip(), rules, count_tokens)
    prompt = strip_trigger(said, rules.group_chat_prefix)
    if prompt is None:
        return Ignore("no group_chat_prefix heard in the voice message")
    return _decide_prompt(prompt, rules, count_tokens)


def strip_mention(content: str, prefixes: tuple[str, ...]) -> str:
    """A group message to the AI bot starts with the @-mention that brought it; the mention is
    not part of the question. A configured group prefix also strips a bot name with spaces."""
    named = [prefix for prefix in prefixes if prefix]
    if named:
        prompt = strip_trigger(content, tuple(named))
        if prompt is not None:
            return prompt.strip()  # also the U+2005 that may follow a mention
    content = content.strip()
    mention = _MENTION.match(content)
    return content[mention.end() :] if mention else content


def understood(attachments: tuple[Attachment, ...], rules: ChatRules) -> tuple[Attachment, ...]:
    """The attachments the channel's rules let the model see."""
    allowed = {PICTURE: rules.image_understanding, FILE: rules.file_understanding}
    return tuple(item for item in attachments if allowed.get(item.kind, False))


def with_quote(prompt: str, quote: str) -> str:
    """The question with the message it quotes before it, as context for the model (the
    quote cut short: it is context, and must not crowd out the conversation)."""
    quote = quote.strip()
    if not quote:
        return prompt
    if len(quote) > QUOTE_MAX_CHARS:
        quote = quote[:QUOTE_MAX_CHARS] + "…"
    return f"引用的消息 / Quoted message:\n「{quote}」\n\n{prompt}"


def decide_aibot_message(
    message: InboundMessage, rules: ChatRules, count_tokens: Callable[[str], int]
) -> Decision:
    """A message to an AI bot: in a group it is always a mention, which stands in for
    group_chat_prefix; voice comes transcribed by WeCom (speech_recognition is about our own
    transcription); pictures are drawn through the app only. WeCom cannot name a bot's group,
    so the white list is matched against its chat id. Pictures and files (its own, or in the
    message it quotes) are understood where the rules allow; a quote's text is context."""
    first = _events_and_groups(message, rules, None)
    if first is not None:
        return first
    seen = understood(message.attachments, rules)
    usable = message.msg_type in AIBOT_TEXT_TYPES and (
        message.msg_type != "mixed" or message.content.strip()
    )
    if not usable:
        if seen:
            has_file = any(item.kind == FILE for item in seen)
            prompt = rules.file_prompt if has_file else rules.image_prompt
            return Understand(with_quote(prompt, message.quote), seen)
        if not rules.unsupported_reply:
            return Ignore(f"'{message.msg_type}' messages are not answered")
        return Notify("unsupported", notices.UNSUPPORTED)
    if message.msg_type == "voice" and not message.content.strip():
        return Notify("voice not understood", notices.VOICE_NOT_UNDERSTOOD)
    if message.is_group:
        prompt = strip_mention(message.content, rules.group_chat_prefix)
    elif message.msg_type == "voice":
        prompt = message.content.strip()
    else:
        prompt = strip_trigger(message.content, rules.single_chat_prefix)
        if prompt is None:
            return Ignore("no single_chat_prefix matched")
    if seen and not prompt:
        prompt = rules.image_prompt  # "@bot" and a picture, nothing else
    decision = _decide_prompt(prompt, replace(rules, image_create_prefix=()), count_tokens)
    if not isinstance(decision, AskModel):
        return decision
    # Counted against max_single_msg_tokens without the quote: the member did not write it.
    question = with_quote(decision.prompt, message.quote)
    return Understand(question, seen) if seen else AskModel(question)


def _decide_prompt(
    prompt: str, rules: ChatRules, count_tokens: Callable[[str], int]
) -> Decision:
    if not prompt:
        return Ignore("nothing left after the prefix")
    command = prompt.lower()
    if command in RESET_COMMANDS:
        return ResetMemory()
    if command in HELP_COMMANDS:
        return ShowHelp()
    image_prefix = match_prefix(prompt, rules.image_create_prefix)
    if rules.image_create_prefix and image_prefix:
        image_prompt = prompt[len(image_prefix) :].lstrip(_SEPARATORS).rstrip()
        if not image_prompt:
            return Ignore("nothing to draw after the image prefix")
        return DrawImage(image_prompt)
    tokens = count_tokens(prompt)
    if tokens > rules.max_single_msg_tokens:
        return RefuseTooLong(tokens=tokens, limit=rules.max_single_msg_tokens)
    return AskModel(prompt=prompt)
