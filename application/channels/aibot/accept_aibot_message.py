"""Accepting an AI bot message: recorded exactly like the app's, then answered at once with
the passive reply that opens its stream (WeCom waits only briefly for it).

The stream's id is the message's msgid, so a retried callback gets the same stream rather than
a second one, and any process can find the message behind a refresh. A message the rules will
not answer opens no stream at all: WeCom then shows nothing, as the app would.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.channels.aibot.stream_board import StreamReply
from application.pipeline.accept_message import AcceptMessage
from application.ports.models import TokenCounter
from domain.messages import InboundMessage
from domain.policy import ChatRules, Ignore, decide_aibot_message


@dataclass(frozen=True)
class AiBotAccepted:
    is_new: bool  # False for a retry of a message already recorded
    reply: StreamReply | None  # None: no stream, the rules leave the message unanswered


class AcceptAiBotMessage:
    def __init__(self, accept: AcceptMessage, rules: ChatRules, count_tokens: TokenCounter):
        self._accept = accept
        self._rules = rules
        self._count = count_tokens

    async def __call__(self, message: InboundMessage) -> AiBotAccepted:
        is_new = await self._accept(message)
        # The worker decides again with the same rules and records why; this early look only
        # spares members a stream that would close empty. (The one thing it cannot foresee is
        # the rate limit's silence: such a stream closes empty.)
        if isinstance(decide_aibot_message(message, self._rules, self._count), Ignore):
            return AiBotAccepted(is_new, None)
        return AiBotAccepted(is_new, StreamReply(message.msg_id, "", finish=False))
