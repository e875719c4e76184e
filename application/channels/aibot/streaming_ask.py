"""Asking the model for an AI bot message: streamed onto the board while it is written, so
that WeCom's refresh callbacks can show the answer growing."""

from __future__ import annotations

from application.channels.aibot.stream_board import StreamBoard, StreamTiming
from application.pipeline.ask_with_memory import NOTHING_ATTACHED, AskWithMemory, Attached
from application.ports.models import ChatAnswer
from domain.aibot_text import LiveAnswer, visible_text
from domain.events import MessageReceived


class StreamingAsk:
    def __init__(
        self,
        ask: AskWithMemory,
        board: StreamBoard,
        timing: StreamTiming,
        *,
        show_thinking: bool = False,
        single_chat_reply_prefix: str = "",
    ):
        self._ask = ask
        self._board = board
        self._timing = timing
        self._show_thinking = show_thinking
        self._reply_prefix = single_chat_reply_prefix

    async def __call__(
        self, received: MessageReceived, prompt: str, attached: Attached = NOTHING_ATTACHED
    ) -> ChatAnswer:
        """The model's answer (for the AI bot: as members see it, see visible_text) and its
        cost; raises ChatModelError when there is none."""
        message = received.message
        # The stream shows exactly what will be recorded as the reply's text, growing: the
        # reply prefix (private chats only, as for every answer) and the visible answer.
        prefix = "" if message.is_group else self._reply_prefix
        stream_id = message.msg_id
        self._board.start(
            stream_id, received.stream_id, self._timing.deadline(received.occurred_at)
        )

        live = LiveAnswer(prefix, self._show_thinking)

        def show(piece: str) -> None:
            content = live.add(piece)
            if content is not None:
                self._board.write(stream_id, content)

        try:
            answer = await self._ask(received, prompt, on_piece=show, attached=attached)
        finally:
            self._board.stop(stream_id)
        return ChatAnswer(visible_text(answer.text, self._show_thinking), answer.usage)
