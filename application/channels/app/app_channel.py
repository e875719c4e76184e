"""The self-built app (自建应用): its prefix rules, answers that name the asker in a group,
parts of at most 2048 bytes, and delivery through its own access token. Answers are plain
text (reply_format "text": the WeChat plugin shows markdown's marks as they are) or markdown,
cut between its blocks (reply_format "markdown", for members who all use the WeCom client)."""

from __future__ import annotations

from dataclasses import dataclass

from application.channels.app.deliver_app_reply import DeliverAppReply
from application.channels.app.fetch_app_media import FetchAppMedia
from application.channels.app.name_directory import NameDirectory
from application.pipeline.ask_with_memory import AskWithMemory, Attached
from application.pipeline.media_work import DrawPicture, TranscribeVoice, Transcript
from application.pipeline.postponed import Postponed
from application.pipeline.sender_rate_limiter import SenderRateLimiter
from application.ports.media import Fetched
from application.ports.models import ChatAnswer, TokenCounter
from domain.access import AccessRule
from domain.events import MessageReceived
from domain.markdown_parts import split_markdown
from domain.message_progress import MessageProgress
from domain.messages import Attachment, InboundMessage
from domain.policy import ChatRules, Decision, decide_app_message
from domain.quota import Quota
from domain.reply_text import flatten_markdown, split_parts


@dataclass(frozen=True)
class AppChannel:
    name: str
    rules: ChatRules
    access: AccessRule
    quota: Quota
    rate_limiter: SenderRateLimiter
    count_tokens: TokenCounter
    asker: AskWithMemory
    directory: NameDirectory
    drawer: DrawPicture
    transcriber: TranscribeVoice
    deliverer: DeliverAppReply
    media: FetchAppMedia
    markdown: bool = False

    async def decide(self, message: InboundMessage, said: str | None) -> Decision:
        group_name = None
        if message.is_group:
            group_name = await self.directory.chat_name(message.chat_id)
        return decide_app_message(message, self.rules, self.count_tokens, group_name, said)

    async def departments(self, user: str) -> tuple[int, ...] | None:
        return await self.directory.departments(user)

    async def ask(self, received: MessageReceived, prompt: str, attached: Attached) -> ChatAnswer:
        return await self.asker(received, prompt, attached=attached)

    async def fetch(self, attachment: Attachment, limit: int) -> Fetched:
        return await self.media(attachment, limit)

    def render(self, answer: str) -> str:
        # Text messages show markdown's marks as they are: members would see the asterisks.
        return answer if self.markdown else flatten_markdown(answer)

    async def address(self, message: InboundMessage, text: str) -> str:
        """In a group, a reply names the asker, so everyone sees whom it answers."""
        if not message.is_group:
            return text
        return f"@{await self.directory.member_name(message.from_user)} {text}"

    def split(self, text: str) -> tuple[str, ...]:
        return split_markdown(text) if self.markdown else split_parts(text)

    async def transcribe(self, media_id: str) -> Transcript:
        return await self.transcriber(media_id)

    async def draw(self, prompt: str) -> str:
        return await self.drawer(prompt)

    async def deliver(self, progress: MessageProgress) -> Postponed | None:
        return await self.deliverer(progress)
