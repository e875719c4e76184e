"""Handling one accepted message: decide, ask the model, compose the reply, deliver it.

Every step is recorded before the next one starts, so a handler that is interrupted at any
point can be run again on the same message: it skips what is recorded and goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from application.delivery import DeliverReply, Postponed
from application.memory_reader import MemoryReader
from application.ports import (
    ChatMessage,
    ChatModel,
    ChatModelError,
    EventStore,
    TokenCounter,
)
from domain import notices
from domain.events import (
    AnswerComposed,
    Event,
    MemoryCleared,
    MessageIgnored,
    NoticeComposed,
)
from domain.memory import history_budget
from domain.message_progress import MessageProgress
from domain.policy import (
    AskModel,
    ChatRules,
    Ignore,
    RefuseTooLong,
    ResetMemory,
    ShowHelp,
    decide,
)
from domain.reply_text import flatten_markdown, split_parts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantProfile:
    rules: ChatRules
    system_prompt: str


class HandleMessage:
    def __init__(
        self,
        store: EventStore,
        model: ChatModel,
        deliver: DeliverReply,
        count_tokens: TokenCounter,
        profile: AssistantProfile,
    ):
        self._store = store
        self._model = model
        self._deliver = deliver
        self._count = count_tokens
        self._profile = profile
        self._memory = MemoryReader(store, count_tokens)

    async def __call__(self, stream_id: str) -> Postponed | None:
        """Takes the message as far as it can go now; Postponed when WeCom must be retried."""
        progress = MessageProgress.from_events(await self._store.read_stream(stream_id))
        if progress.settled or progress.received is None:
            return None
        if progress.reply is None:
            composed = await self._compose(progress)
            await self._store.append(composed)
        if progress.reply is None:
            return None
        return await self._deliver(progress)

    async def _compose(self, progress: MessageProgress) -> list[Event]:
        message = progress.received.message
        decision = decide(message, self._profile.rules, self._count)
        if isinstance(decision, Ignore):
            log.info("message %s not answered: %s", progress.received.stream_id, decision.reason)
            return [progress.record(MessageIgnored, reason=decision.reason)]
        if isinstance(decision, ResetMemory):
            cleared = progress.record(MemoryCleared)
            return [cleared, self._notice(progress, notices.MEMORY_CLEARED, "memory cleared")]
        if isinstance(decision, ShowHelp):
            return [self._notice(progress, notices.HELP, "help")]
        if isinstance(decision, RefuseTooLong):
            text = notices.too_long(decision.tokens, decision.limit)
            return [self._notice(progress, text, "message too long")]
        assert isinstance(decision, AskModel)
        return [await self._answer(progress, decision.prompt)]

    async def _answer(self, progress: MessageProgress, prompt: str) -> Event:
        received = progress.received
        system_prompt = self._profile.system_prompt
        budget = history_budget(
            self._profile.rules.conversation_max_tokens, system_prompt, prompt, self._count
        )
        position = await self._store.position_of(received.stream_id, received.version)
        turns = await self._memory.window(received.conversation_id, position, budget)
        messages = [ChatMessage("system", system_prompt)] if system_prompt else []
        for turn in turns:
            messages += [ChatMessage("user", turn.prompt), ChatMessage("assistant", turn.answer)]
        messages.append(ChatMessage("user", prompt))
        try:
            answer = await self._model.complete(
                messages, max_tokens=self._profile.rules.max_single_msg_tokens
            )
        except ChatModelError as err:
            log.warning("model failed for %s: %s", received.stream_id, err)
            return self._notice(progress, notices.MODEL_FAILED, f"model failed: {err}")
        if not answer.strip():
            return self._notice(progress, notices.MODEL_FAILED, "model returned an empty answer")
        text = self._profile.rules.single_chat_reply_prefix + flatten_markdown(answer)
        return progress.record(
            AnswerComposed,
            to_user=received.message.from_user,
            text=text,
            parts=split_parts(text),
            prompt=prompt,
            answer=answer,
        )

    def _notice(self, progress: MessageProgress, text: str, reason: str) -> Event:
        return progress.record(
            NoticeComposed,
            to_user=progress.received.message.from_user,
            text=text,
            parts=split_parts(text),
            reason=reason,
        )
