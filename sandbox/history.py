"""After a restart the page starts with each member's conversations, with every app and bot,
as the service's event store remembers them (the model remembers them too), read through
the operator API: what each member said, what became of it, and the replies WeCom took."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.chat_log import Bubble, ChatLog, group_chat, private_chat
from sandbox.explainer import SETTLED, shown_status
from sandbox.operator_client import OperatorClient

# Enough for a sandbox's page; older messages stay in the store and in the operator's view.
CONVERSATIONS, MESSAGES_EACH = 50, 50
_COMPOSED = ("AnswerComposed", "NoticeComposed", "ImageComposed")


@dataclass(frozen=True)
class _Said:
    at: float
    conversation: str
    sender: str  # "" for the app
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


async def restore(operator: OperatorClient, log: ChatLog) -> list[Bubble]:
    """Adds what the store remembers to `log`, oldest first; returns the members' bubbles
    whose messages are not settled yet, to be followed."""
    said: list[_Said] = []
    for conversation in await operator.conversations(CONVERSATIONS):
        for report in await operator.messages(conversation["conversation_id"], MESSAGES_EACH):
            said += _said_in(report)
    unsettled = []
    for item in sorted(said, key=lambda item: item.at):
        bubble = log.add(item.conversation, item.sender, item.kind, at=item.at, **item.fields)
        if item.sender and bubble.status not in SETTLED:
            unsettled.append(bubble)
    return unsettled


def _said_in(report: dict[str, Any]) -> list[_Said]:
    """The member's message of one report and the app's replies to it, as the page shows them."""
    events = report["events"]
    received = next((e for e in events if e["type"] == "MessageReceived"), None)
    message = received["detail"]["message"] if received else {}
    # The sandbox's members send text and voice; nothing else is theirs to show.
    if message.get("msg_type") not in ("text", "voice"):
        return []
    channel, chat_id, member = message["channel"], message["chat_id"], message["from_user"]
    conversation = group_chat(channel, chat_id) if chat_id else private_chat(channel, member)
    heard = [e["detail"]["transcript"] for e in events if e["type"] == "VoiceTranscribed"]
    fate = {
        "msg_id": report["msg_id"],
        "status": shown_status(report),
        "note": report["why"],
        "reply": report["reply"],
    }
    text = message["content"] or "".join(heard)
    mine = _Said(received["at"], conversation, member, message["msg_type"], {"text": text, **fate})
    return [mine, *_replies(events, conversation)]


def _replies(events: list[dict[str, Any]], conversation: str) -> list[_Said]:
    composed = next((e for e in events if e["type"] in _COMPOSED), None)
    if composed is None:
        return []
    reply = composed["detail"]
    said = []
    for sent in (e for e in events if e["type"] == "ReplyPartSent"):
        if composed["type"] == "ImageComposed":
            # The picture itself was the emulator's media of an earlier run, gone with it.
            text = f"[图片 picture: {reply['prompt']}]"
        else:
            text = reply["parts"][sent["detail"]["index"]]
        said.append(_Said(sent["at"], conversation, "", "text", {"text": text}))
    return said
