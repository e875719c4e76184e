"""An AI bot in long-connection mode, for the page: the service dials out to the emulator's
WebSocket endpoint as it would to WeCom's, a member's message is pushed over that connection,
and the bot's stream frames grow one bubble until the stream finishes; what the bot sends on
its own (a late answer, the rest of a long one) is a bubble of its own."""

from __future__ import annotations

from collections import OrderedDict

from sandbox.bot_chat import KeepMedia
from sandbox.chat_log import Bubble, ChatLog, group_chat, private_chat
from sandbox.corp import Corp
from wecom_emulator import AiBot, AiBotSocket, BotReply

# Streams whose bubble may still grow; older ones are finished or abandoned.
_OPEN_STREAMS = 1000


def bot_id_of(channel: str) -> str:
    """The BotID the sandbox gives a bot of its corp."""
    return f"aib-sandbox-{channel.partition(':')[2]}"


class SocketBotChat:
    def __init__(
        self,
        channel: str,
        name: str,
        bots: AiBotSocket,
        bot: AiBot,
        corp: Corp,
        log: ChatLog,
        keep_media: KeepMedia,
    ):
        self.channel = channel
        self._mention = f"@{name}"
        self._bots = bots
        self._bot = bot
        self._corp = corp
        self._log = log
        self._keep_media = keep_media
        self._streams: OrderedDict[str, Bubble | None] = OrderedDict()  # msgid: its answer

    async def send_text(self, bubble: Bubble, member: str, text: str, chat_id: str) -> str | None:
        """Pushes the member's message to the service; None once it went, else why not."""
        if chat_id and not text.lstrip().startswith(self._mention):
            return f"in groups WeCom hands a bot only messages that mention it ({self._mention})"
        try:
            await self._bots.push_text(self._bot, member, text, chat_id or None, bubble.msg_id)
        except RuntimeError:
            return "the service is not connected to the bot (yet): see its /readyz"
        return None

    async def send_media(
        self, bubble: Bubble, member: str, msg_type: str, data: bytes, filename: str
    ) -> str | None:
        """A picture ("image") or file ("file") pushed to the service, with its own aeskey."""
        part = self._keep_media(data, filename)
        try:
            await self._bots.push_media(self._bot, member, msg_type, part, bubble.msg_id)
        except RuntimeError:
            return "the service is not connected to the bot (yet): see its /readyz"
        return None

    def show(self, reply: BotReply) -> None:
        """What the bot showed the member (the emulator tells of every frame and message)."""
        if reply.bot_id != self._bot.bot_id:
            return
        conversation = self._conversation(reply.chat_id)
        if reply.kind != "stream":
            self._log.add(conversation, "", "text", text=reply.content)
            return
        bubble = self._streams.get(reply.msgid)
        if bubble is None:
            if not reply.content:
                return  # an opening frame shows nothing yet
            self._streams[reply.msgid] = self._log.add(conversation, "", "text", text=reply.content)
            if len(self._streams) > _OPEN_STREAMS:
                self._streams.popitem(last=False)
        else:
            self._log.update(bubble, text=reply.content)
        if reply.finish:
            self._streams.pop(reply.msgid, None)

    def _conversation(self, chat_id: str) -> str:
        """A reply goes to a group (its chatid) or to a member (their userid)."""
        if self._corp.group(chat_id) is not None:
            return group_chat(self.channel, chat_id)
        return private_chat(self.channel, chat_id)
