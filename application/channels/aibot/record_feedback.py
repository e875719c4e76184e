"""A member's 👍/👎 on an AI bot answer, recorded on the message it answers.

WeCom names the answer by the feedback id its stream carried, which is the message's msgid.
Feedback may come while the message is still being handled, so a conflicting append is read
again and retried; feedback WeCom delivers twice (after a reconnect) is recorded once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from application.ports.event_store import ConcurrencyConflict, EventStore
from domain.events import FeedbackGiven
from domain.message_progress import MessageProgress
from domain.messages import message_key

log = logging.getLogger(__name__)

_ATTEMPTS = 3


@dataclass(frozen=True)
class Feedback:
    feedback_id: str  # the answered message's msgid
    from_user: str
    rating: str  # "good", "bad" or "withdrawn"
    comment: str = ""
    reasons: tuple[int, ...] = ()
    wecom_msg_id: str = ""


class RecordFeedback:
    def __init__(self, channel: str, store: EventStore):
        self._channel = channel
        self._store = store

    async def __call__(self, feedback: Feedback) -> bool:
        """True once recorded (now or before); False for an answer this service never gave."""
        stream_id = message_key(self._channel, feedback.feedback_id)
        for _ in range(_ATTEMPTS):
            events = await self._store.read_stream(stream_id)
            if not events:
                log.warning("feedback on an answer this service does not know; not recorded")
                return False
            if feedback.wecom_msg_id and any(
                isinstance(event, FeedbackGiven) and event.wecom_msg_id == feedback.wecom_msg_id
                for event in events
            ):
                return True
            given = MessageProgress.from_events(events).record(
                FeedbackGiven,
                from_user=feedback.from_user,
                rating=feedback.rating,
                comment=feedback.comment,
                reasons=feedback.reasons,
                wecom_msg_id=feedback.wecom_msg_id,
            )
            try:
                await self._store.append([given])
            except ConcurrencyConflict:
                continue
            log.info("feedback %s on %s", feedback.rating, stream_id)
            return True
        log.warning("feedback on %s not recorded: the message kept changing", stream_id)
        return False
