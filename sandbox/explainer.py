"""Why a member's message got the answer it got, or none: the sandbox asks the service's
operator API (GET /admin/api/messages/{MsgId}?channel=…, with the sandbox's bearer token), as
an operator would, and writes the outcome onto the member's bubble."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from sandbox.chat_log import WAITING, Bubble, ChatLog, channel_of

log = logging.getLogger("weworktop.sandbox")

# Outcomes after which nothing more happens to a message (domain.message_outcome's).
SETTLED = ("answered", "ignored", "failed")
# Quick looks at first, since most messages settle in well under a second.
QUICK_LOOKS, QUICK_SECONDS, SLOW_SECONDS = 30, 0.1, 1.0
GIVE_UP_SECONDS = 120.0


class Explainer:
    def __init__(self, client: httpx.AsyncClient, admin_url: str, admin_token: str, log: ChatLog):
        self._client = client
        self._admin_url = admin_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {admin_token}"}
        self._log = log

    async def follow(self, bubble: Bubble) -> None:
        """Looks until the message is settled (or for GIVE_UP_SECONDS)."""
        self._log.update(bubble, status=WAITING)
        deadline = time.monotonic() + GIVE_UP_SECONDS
        looks = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(QUICK_SECONDS if looks < QUICK_LOOKS else SLOW_SECONDS)
            looks += 1
            report = await self._report(bubble.msg_id, channel_of(bubble.conversation))
            if report is None:
                continue
            status = report["status"]
            shown = status if status in (*SETTLED, "postponed") else WAITING
            self._log.update(bubble, status=shown, note=report["why"])
            if status in SETTLED:
                return

    async def _report(self, msg_id: str, channel: str) -> dict | None:
        """The message's report; MsgIds are each app's or bot's own, so the channel says whose."""
        try:
            response = await self._client.get(
                f"{self._admin_url}/api/messages/{msg_id}",
                params={"channel": channel},
                headers=self._headers,
            )
        except httpx.HTTPError as err:
            log.warning("sandbox could not ask the operator API: %s", type(err).__name__)
            return None
        if response.status_code != 200:
            return None  # 404: not recorded yet (the callback may still be on its way)
        return response.json()["messages"][0]
