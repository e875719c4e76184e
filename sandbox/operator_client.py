"""The service's operator API (/admin/api, with the sandbox's bearer token), asked as an
operator would: the sandbox knows the service only over HTTP, like WeCom."""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger("weworktop.sandbox")


class OperatorClient:
    def __init__(self, client: httpx.AsyncClient, admin_url: str, admin_token: str):
        self._client = client
        self._api = admin_url.rstrip("/") + "/api"
        self._headers = {"Authorization": f"Bearer {admin_token}"}

    async def message(self, msg_id: str, channel: str) -> dict[str, Any] | None:
        """The message's report (status, why, reply, events), or None while it is not
        recorded (the callback may still be on its way) or the API cannot be reached.
        MsgIds are each app's or bot's own, so the channel says whose."""
        found = await self._get(f"/messages/{msg_id}", channel=channel)
        return found["messages"][0] if found else None

    async def conversations(self, limit: int) -> list[dict[str, Any]]:
        found = await self._get("/conversations", limit=limit)
        return found["conversations"] if found else []

    async def messages(self, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        """The conversation's newest messages, newest first."""
        found = await self._get("/messages", conversation=conversation_id, limit=limit)
        return found["messages"] if found else []

    async def _get(self, path: str, **params: Any) -> dict[str, Any] | None:
        try:
            response = await self._client.get(
                self._api + path, params=params, headers=self._headers
            )
        except httpx.HTTPError as err:
            log.warning("sandbox could not ask the operator API: %s", type(err).__name__)
            return None
        return response.json() if response.status_code == 200 else None
