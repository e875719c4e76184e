"""Why a member's message got the answer it got, or none: the sandbox asks the service's
operator API about the message, as an operator would, and writes the outcome onto the
member's bubble."""

from __future__ import annotations

import asyncio
import time

from sandbox.chat_log import WAITING, Bubble, ChatLog, channel_of
from sandbox.operator_client import OperatorClient

# Outcomes after which nothing more happens to a message (domain.message_outcome's).
SETTLED = ("answered", "ignored", "failed")
# Quick looks at first, since most messages settle in well under a second.
QUICK_LOOKS, QUICK_SECONDS, SLOW_SECONDS = 30, 0.1, 1.0
GIVE_UP_SECONDS = 120.0


def shown_status(report: dict) -> str:
    """The bubble's status for the operator API's report of its message."""
    status = report["status"]
    return status if status in (*SETTLED, "postponed") else WAITING


class Explainer:
    def __init__(self, operator: OperatorClient, log: ChatLog):
        self._operator = operator
        self._log = log

    async def follow(self, bubble: Bubble) -> None:
        """Looks until the message is settled (or for GIVE_UP_SECONDS)."""
        self._log.update(bubble, status=WAITING)
        deadline = time.monotonic() + GIVE_UP_SECONDS
        looks = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(QUICK_SECONDS if looks < QUICK_LOOKS else SLOW_SECONDS)
            looks += 1
            report = await self._operator.message(bubble.msg_id, channel_of(bubble.conversation))
            if report is None:
                continue
            self._log.update(
                bubble, status=shown_status(report), note=report["why"], reply=report["reply"]
            )
            if report["status"] in SETTLED:
                return
