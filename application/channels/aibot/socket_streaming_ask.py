"""Asking the model for an AI bot message that came over the long connection: the answer is
shown growing in stream frames while the model writes it (StreamFrames)."""

from __future__ import annotations

import time
from collections.abc import Callable

from application.channels.aibot.stream_board import StreamTiming
from application.channels.aibot.stream_frames import FRAME_GAP_SECONDS, StreamFrames
from application.pipeline.ask_with_memory import NOTHING_ATTACHED, AskWithMemory, Attached
from application.ports.aibot_link import AiBotLink
from application.ports.models import ChatAnswer
from domain.aibot_text import LiveAnswer, visible_text
from domain.events import MessageReceived


class SocketStreamingAsk:
    def __init__(
        self,
        ask: AskWithMemory,
        link: AiBotLink,
        timing: StreamTiming,
        *,
        show_thinking: bool = False,
        single_chat_reply_prefix: str = "",
        frame_gap_seconds: float = FRAME_GAP_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self._ask = ask
        self._link = link
        self._timing = timing
        self._show_thinking = show_thinking
        self._reply_prefix = single_chat_reply_prefix
        self._frame_gap = frame_gap_seconds
        self._clock = clock

    async def __call__(
        self, received: MessageReceived, prompt: str, attached: Attached = NOTHING_ATTACHED
    ) -> ChatAnswer:
        """The model's answer as members see it (see visible_text) and its cost; raises
        ChatModelError when there is none."""
        message = received.message
        # Frames show exactly what will be recorded as the reply's text, growing: the reply
        # prefix (private chats only, as for every answer) and the visible answer.
        prefix = "" if message.is_group else self._reply_prefix
        frames = StreamFrames(
            self._link,
            message.req_id,
            message.msg_id,
            self._timing.deadline(received.occurred_at),
            gap_seconds=self._frame_gap,
            clock=self._clock,
        )

        live = LiveAnswer(prefix, self._show_thinking)

        def show(piece: str) -> None:
            content = live.add(piece)
            if content is not None:
                frames.show(content)

        frames.start()
        try:
            answer = await self._ask(received, prompt, on_piece=show, attached=attached)
        finally:
            await frames.stop()
        return ChatAnswer(visible_text(answer.text, self._show_thinking), answer.usage)
