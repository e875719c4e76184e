"""Handling one accepted message: decide, ask a model, compose the reply, deliver it.

Every step is recorded before the next one starts, so a handler that is interrupted at any
point can be run again on the same message: it skips what is recorded and goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from application.channels.aibot.streaming_ask import StreamingAsk
from application.channels.app.deliver_app_reply import DeliverReply, Postponed
from application.channels.app.name_directory import NameDirectory
from application.pipeline.ask_with_memory import AskWithMemory
from application.pipeline.media_work import DrawPicture, TranscribeVoice
from application.pipeline.sender_rate_limiter import SenderRateLimiter
from application.ports.event_store import EventStore
from application.ports.models import ChatModelError, ImageModelError, SpeechError
from domain import notices
from domain.aibot_text import stream_parts
from domain.events import (
    AnswerComposed,
    Event,
    ImageComposed,
    MemoryCleared,
    MessageIgnored,
    NoticeComposed,
    VoiceTranscribed,
)
from domain.message_progress import MessageProgress
from domain.policy import (
    AskModel,
    ChatRules,
    Decision,
    DrawImage,
    Ignore,
    Notify,
    RefuseTooLong,
    ResetMemory,
    ShowHelp,
    Transcribe,
    decide,
)
from domain.rate_limit import SlowDown
from domain.reply_text import flatten_markdown, split_parts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skills:
    """What the handler can do beyond deciding: each is a use case of its own."""

    ask: AskWithMemory | StreamingAsk
    draw: DrawPicture
    transcribe: TranscribeVoice
    directory: NameDirectory


class HandleMessage:
    def __init__(
        self,
        store: EventStore,
        skills: Skills,
        deliver: DeliverReply,
        count_tokens,
        rules: ChatRules,
        rate_limiter: SenderRateLimiter | None = None,
    ):
        self._store = store
        self._skills = skills
        self._deliver = deliver
        self._count = count_tokens
        self._rules = rules
        self._rate_limiter = rate_limiter or SenderRateLimiter.unlimited()

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
        group_name = None
        # An AI bot group is not an appchat: WeCom's API cannot name it (the chat id stands in).
        if message.is_group and not message.via_aibot:
            group_name = await self._skills.directory.chat_name(message.chat_id)
        decision = decide(message, self._rules, self._count, group_name, progress.transcript)
        if isinstance(decision, Transcribe | AskModel | DrawImage):
            # Only model calls cost money, so only they count against the sender's budget.
            refusal = await self._over_budget(progress)
            if refusal is not None:
                return [refusal]
        if isinstance(decision, Transcribe):
            try:
                transcript = await self._skills.transcribe(message.media_id)
            except SpeechError as err:
                log.warning("voice %s not transcribed: %s", progress.received.stream_id, err)
                return [await self._notice(progress, notices.VOICE_FAILED, f"speech: {err}")]
            # Kept at once: a crash later must not cost a second transcription.
            await self._store.append([progress.record(VoiceTranscribed, transcript=transcript)])
            decision = decide(message, self._rules, self._count, group_name, transcript)
        return await self._act(progress, decision)

    async def _over_budget(self, progress: MessageProgress) -> Event | None:
        verdict = self._rate_limiter.check(progress.received.message.from_user)
        if isinstance(verdict, Ignore):
            return progress.record(MessageIgnored, reason=verdict.reason)
        if isinstance(verdict, SlowDown):
            limit = verdict.limit
            text = notices.slow_down(limit.messages, limit.per_seconds, verdict.retry_after_seconds)
            return await self._notice(progress, text, "rate limited")
        return None

    async def _act(self, progress: MessageProgress, decision: Decision) -> list[Event]:
        if isinstance(decision, Ignore):
            log.info("message %s not answered: %s", progress.received.stream_id, decision.reason)
            return [progress.record(MessageIgnored, reason=decision.reason)]
        if isinstance(decision, ResetMemory):
            cleared = progress.record(MemoryCleared)
            return [cleared, await self._notice(progress, notices.MEMORY_CLEARED, "memory cleared")]
        if isinstance(decision, ShowHelp):
            return [await self._notice(progress, notices.HELP, "help")]
        if isinstance(decision, Notify):
            return [await self._notice(progress, decision.text, decision.kind)]
        if isinstance(decision, RefuseTooLong):
            text = notices.too_long(decision.tokens, decision.limit)
            return [await self._notice(progress, text, "message too long")]
        if isinstance(decision, DrawImage):
            return [await self._draw(progress, decision.prompt)]
        assert isinstance(decision, AskModel)
        return [await self._answer(progress, decision.prompt)]

    async def _answer(self, progress: MessageProgress, prompt: str) -> Event:
        try:
            answer = await self._skills.ask(progress.received, prompt)
        except ChatModelError as err:
            log.warning("model failed for %s: %s", progress.received.stream_id, err)
            return await self._notice(progress, notices.MODEL_FAILED, f"model failed: {err}")
        if not answer.strip():
            return await self._notice(
                progress, notices.MODEL_FAILED, "model returned an empty answer"
            )
        message = progress.received.message
        prefix = "" if message.is_group else self._rules.single_chat_reply_prefix
        # The AI bot renders markdown; the app's plain text messages do not.
        shown = answer if message.via_aibot else flatten_markdown(answer)
        text = await self._addressed(progress, prefix + shown)
        return self._record_reply(progress, AnswerComposed, text, prompt=prompt, answer=answer)

    async def _draw(self, progress: MessageProgress, prompt: str) -> Event:
        try:
            media_id = await self._skills.draw(prompt)
        except ImageModelError as err:
            log.warning("picture for %s failed: %s", progress.received.stream_id, err)
            return await self._notice(progress, notices.IMAGE_FAILED, f"image failed: {err}")
        message = progress.received.message
        return progress.record(
            ImageComposed,
            to_user=message.from_user,
            to_chat=message.chat_id,
            text="",
            parts=(media_id,),
            prompt=prompt,
        )

    async def _notice(self, progress: MessageProgress, text: str, reason: str) -> Event:
        text = await self._addressed(progress, text)
        return self._record_reply(progress, NoticeComposed, text, reason=reason)

    async def _addressed(self, progress: MessageProgress, text: str) -> str:
        """In a group, a reply names the asker, so everyone sees whom it answers (the AI bot's
        stream is already shown as the answer to the asker's mention)."""
        message = progress.received.message
        if not message.is_group or message.via_aibot:
            return text
        return f"@{await self._skills.directory.member_name(message.from_user)} {text}"

    @staticmethod
    def _record_reply(progress: MessageProgress, event_type, text: str, **fields) -> Event:
        message = progress.received.message
        return progress.record(
            event_type,
            to_user=message.from_user,
            to_chat=message.chat_id,
            text=text,
            parts=stream_parts(text) if message.via_aibot else split_parts(text),
            **fields,
        )
