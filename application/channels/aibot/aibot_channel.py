"""The AI bot (智能机器人): @-mentions in groups, answers streamed as markdown while the model
writes them, and what the stream cannot carry sent on its own.

The bot's two modes differ only in how a stream reaches WeCom, so they differ only in the
asker and deliverer they are given: in callback mode (API mode) WeCom's refreshes read the
stream (StreamingAsk) and late answers go through response_url (DeliverAiBotReply); over the
long connection frames carry the stream (SocketStreamingAsk) and the bot's own messages the
rest (DeliverSocketReply).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from application.pipeline.ask_with_memory import Attached
from application.pipeline.media_work import Transcript
from application.pipeline.postponed import Postponed
from application.pipeline.sender_rate_limiter import SenderRateLimiter
from application.ports.media import Fetched
from application.ports.models import ChatAnswer, ImageModelError, SpeechError, TokenCounter
from application.ports.wecom import AiBotMedia
from domain.access import AccessRule
from domain.aibot_text import stream_parts
from domain.events import MessageReceived
from domain.message_progress import MessageProgress
from domain.messages import Attachment, InboundMessage
from domain.policy import ChatRules, Decision, decide_aibot_message
from domain.quota import Quota


@dataclass(frozen=True)
class AiBotChannel:
    name: str
    rules: ChatRules
    access: AccessRule
    quota: Quota
    rate_limiter: SenderRateLimiter
    count_tokens: TokenCounter
    asker: Callable[[MessageReceived, str, Attached], Awaitable[ChatAnswer]]
    deliverer: Callable[[MessageProgress], Awaitable[Postponed | None]]
    media: AiBotMedia

    async def decide(self, message: InboundMessage, said: str | None) -> Decision:
        # WeCom transcribes a bot's voice messages itself: `said` is never asked for.
        return decide_aibot_message(message, self.rules, self.count_tokens)

    async def departments(self, user: str) -> tuple[int, ...] | None:
        return None  # a bot has no access to WeCom's directory

    async def ask(self, received: MessageReceived, prompt: str, attached: Attached) -> ChatAnswer:
        return await self.asker(received, prompt, attached)

    async def fetch(self, attachment: Attachment, limit: int) -> Fetched:
        return await self.media.download(attachment.ref, attachment.aeskey, limit)

    def render(self, answer: str) -> str:
        return answer  # WeCom renders a bot's stream and messages as markdown

    async def address(self, message: InboundMessage, text: str) -> str:
        return text  # the stream is shown as the answer to the asker's mention

    def split(self, text: str) -> tuple[str, ...]:
        return stream_parts(text)

    async def transcribe(self, media_id: str) -> Transcript:
        raise SpeechError("an AI bot's voice messages arrive transcribed")

    async def draw(self, prompt: str) -> str:
        raise ImageModelError("the AI bot cannot send pictures")

    async def deliver(self, progress: MessageProgress) -> Postponed | None:
        return await self.deliverer(progress)
