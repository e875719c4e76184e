"""Handling one accepted message: decide, ask a model, compose the reply, deliver it.

Every step is recorded before the next one starts, so a handler that is interrupted at any
point can be run again on the same message: it skips what is recorded and goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from application.pipeline.admission import Admission, Refusal
from application.pipeline.ask_with_memory import NOTHING_ATTACHED, Attached
from application.pipeline.channel import Channel, Channels, UnknownChannel
from application.pipeline.postponed import Postponed
from application.pipeline.read_attachments import ReadAttachments, attached_of
from application.ports.event_store import EventStore
from application.ports.media import MediaError
from application.ports.models import ChatModelError, ImageModelError, SpeechError
from domain import notices
from domain.events import (
    AnswerComposed,
    Event,
    ImageComposed,
    MemoryCleared,
    MessageIgnored,
    ModelUsed,
    NoticeComposed,
    VoiceTranscribed,
)
from domain.message_progress import MessageProgress
from domain.policy import (
    AskModel,
    Decision,
    DrawImage,
    Ignore,
    Notify,
    RefuseTooLong,
    ResetMemory,
    ShowHelp,
    Transcribe,
    Understand,
)
from domain.usage import Usage

log = logging.getLogger(__name__)


class HandleMessage:
    """One pipeline for every channel: what differs by kind is asked of the message's channel."""

    def __init__(
        self,
        store: EventStore,
        channels: Channels,
        admission: Admission,
        read: ReadAttachments,
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._channels = channels
        self._admission = admission
        self._read = read
        # Stamps each ModelUsed: the day it is counted on is the day quotas look at.
        self._clock = clock

    async def __call__(self, stream_id: str) -> Postponed | None:
        """Takes the message as far as it can go now; Postponed when WeCom must be retried."""
        progress = MessageProgress.from_events(await self._store.read_stream(stream_id))
        if progress.settled or progress.received is None:
            return None
        try:
            channel = self._channels[progress.received.message.channel]
        except UnknownChannel as err:
            reason = f"channel '{err}' is not configured (any more)"
            log.warning("message %s not answered: %s", stream_id, reason)
            await self._store.append([progress.record(MessageIgnored, reason=reason)])
            return None
        if progress.reply is None:
            composed = await self._compose(channel, progress)
            await self._store.append(composed)
        if progress.reply is None:
            return None
        return await channel.deliver(progress)

    async def _compose(self, channel: Channel, progress: MessageProgress) -> list[Event]:
        message = progress.received.message
        decision = await channel.decide(message, progress.transcript)
        # Chatter the rules ignore anyway is not refused again; only model calls cost money,
        # so only they count against quotas and budgets.
        refusal = None
        if not isinstance(decision, Ignore):
            refusal = await self._admission.access(channel, message.from_user)
        if refusal is None and isinstance(decision, Transcribe | AskModel | Understand | DrawImage):
            refusal = await self._admission.model_call(channel, progress.received)
        if refusal is not None:
            return [await self._refuse(channel, progress, refusal)]
        if isinstance(decision, Transcribe):
            try:
                heard = await channel.transcribe(message.media_id)
            except SpeechError as err:
                log.warning("voice %s not transcribed: %s", progress.received.stream_id, err)
                notice = await self._notice(
                    channel, progress, notices.VOICE_FAILED, f"speech: {err}"
                )
                return [notice]
            used = await self._used(channel, progress, Usage(audio_seconds=heard.audio_seconds))
            # Kept at once: a crash later must not cost a second transcription.
            transcribed = progress.record(VoiceTranscribed, transcript=heard.text)
            await self._store.append([used, transcribed])
            decision = await channel.decide(message, heard.text)
        return await self._act(channel, progress, decision)

    async def _refuse(
        self, channel: Channel, progress: MessageProgress, refusal: Refusal
    ) -> Event:
        if refusal.notice:
            return await self._notice(channel, progress, refusal.notice, refusal.reason)
        log.info("message %s not answered: %s", progress.received.stream_id, refusal.reason)
        return progress.record(MessageIgnored, reason=refusal.reason)

    async def _act(
        self, channel: Channel, progress: MessageProgress, decision: Decision
    ) -> list[Event]:
        if isinstance(decision, Ignore):
            log.info("message %s not answered: %s", progress.received.stream_id, decision.reason)
            return [progress.record(MessageIgnored, reason=decision.reason)]
        if isinstance(decision, ResetMemory):
            cleared = progress.record(MemoryCleared)
            notice = await self._notice(channel, progress, notices.MEMORY_CLEARED, "memory cleared")
            return [cleared, notice]
        if isinstance(decision, ShowHelp):
            return [await self._notice(channel, progress, notices.HELP, "help")]
        if isinstance(decision, Notify):
            return [await self._notice(channel, progress, decision.text, decision.kind)]
        if isinstance(decision, RefuseTooLong):
            text = notices.too_long(decision.tokens, decision.limit)
            return [await self._notice(channel, progress, text, "message too long")]
        if isinstance(decision, DrawImage):
            return await self._draw(channel, progress, decision.prompt)
        if isinstance(decision, Understand):
            return await self._understand(channel, progress, decision)
        assert isinstance(decision, AskModel)
        return await self._answer(channel, progress, decision.prompt)

    async def _understand(
        self, channel: Channel, progress: MessageProgress, decision: Understand
    ) -> list[Event]:
        if not progress.seen:
            try:
                seen = await self._read(channel, progress, decision.attachments)
            except MediaError as err:
                log.warning("attachment of %s not read: %s", progress.received.stream_id, err)
                text = notices.attachment_failed(err.problem, err.limit)
                return [await self._notice(channel, progress, text, f"attachment: {err.reason}")]
            # Kept at once: the download URL of an AI bot's picture lasts five minutes.
            await self._store.append(seen)
        return await self._answer(channel, progress, decision.prompt, attached_of(progress.seen))

    async def _answer(
        self,
        channel: Channel,
        progress: MessageProgress,
        prompt: str,
        attached: Attached = NOTHING_ATTACHED,
    ) -> list[Event]:
        try:
            answer = await channel.ask(progress.received, prompt, attached)
        except ChatModelError as err:
            log.warning("model failed for %s: %s", progress.received.stream_id, err)
            return [
                await self._notice(channel, progress, notices.MODEL_FAILED, f"model failed: {err}")
            ]
        used = await self._used(channel, progress, answer.usage or Usage())
        if not answer.text.strip():
            reason = "model returned an empty answer"
            return [used, await self._notice(channel, progress, notices.MODEL_FAILED, reason)]
        message = progress.received.message
        prefix = "" if message.is_group else channel.rules.single_chat_reply_prefix
        text = await channel.address(message, prefix + channel.render(answer.text))
        answered = self._record_reply(
            channel, progress, AnswerComposed, text, prompt=prompt, answer=answer.text
        )
        return [used, answered]

    async def _draw(
        self, channel: Channel, progress: MessageProgress, prompt: str
    ) -> list[Event]:
        try:
            media_id = await channel.draw(prompt)
        except ImageModelError as err:
            log.warning("picture for %s failed: %s", progress.received.stream_id, err)
            return [
                await self._notice(channel, progress, notices.IMAGE_FAILED, f"image failed: {err}")
            ]
        used = await self._used(channel, progress, Usage(pictures=1))
        message = progress.received.message
        drawn = progress.record(
            ImageComposed,
            to_user=message.from_user,
            to_chat=message.chat_id,
            text="",
            parts=(media_id,),
            prompt=prompt,
        )
        return [used, drawn]

    async def _used(self, channel: Channel, progress: MessageProgress, usage: Usage) -> Event:
        """What the call cost, counted to the member and their main department."""
        member = progress.received.message.from_user
        departments = await channel.departments(member)
        return progress.record(
            ModelUsed,
            occurred_at=self._clock(),
            channel=channel.name,
            member=member,
            department=departments[0] if departments else None,
            usage=usage,
        )

    async def _notice(
        self, channel: Channel, progress: MessageProgress, text: str, reason: str
    ) -> Event:
        text = await channel.address(progress.received.message, text)
        return self._record_reply(channel, progress, NoticeComposed, text, reason=reason)

    @staticmethod
    def _record_reply(
        channel: Channel, progress: MessageProgress, event_type, text: str, **fields
    ) -> Event:
        message = progress.received.message
        return progress.record(
            event_type,
            to_user=message.from_user,
            to_chat=message.chat_id,
            text=text,
            parts=channel.split(text),
            **fields,
        )
