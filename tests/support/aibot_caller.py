"""Playing WeCom's AI bot against a served endpoint: signed callbacks posted over HTTP, the
passive replies checked and opened, a stream followed refresh by refresh until it finishes;
and what the service recorded, read straight from its SQLite file."""

from __future__ import annotations

import sqlite3
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

from tests.support.aibot_signing import AiBotPeer, refresh_payload


class AiBotCaller:
    def __init__(self, peer: AiBotPeer, url: str):
        self.peer = peer
        self.url = url

    def send(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The opened passive reply, or None for an empty 200."""
        params, body = self.peer.signed(payload)
        response = httpx.post(self.url, params=params, content=body, timeout=5)
        assert response.status_code == 200, response.text
        if not response.content:
            return None
        return self.peer.open_reply(response.content, params["nonce"])

    def follow(
        self, stream_id: str, interval: float = 0.05, timeout: float = 30.0
    ) -> list[str]:
        """The content of every refresh until the stream finishes (the last is the final)."""
        contents: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stream = self.send(refresh_payload(stream_id))["stream"]
            assert stream["id"] == stream_id
            contents.append(stream["content"])
            if stream["finish"]:
                return contents
            time.sleep(interval)
        raise AssertionError(f"stream {stream_id} did not finish; it showed {contents[-3:]}")


def grows_monotonically(contents: list[str]) -> bool:
    """Every refresh extends the one before: no word is ever taken back."""
    return all(later.startswith(earlier) for earlier, later in pairwise(contents))


def stored_event_types(database: Path, stream_id: str) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT event_type FROM events WHERE stream_id = ? ORDER BY version", (stream_id,)
        ).fetchall()
    return [row[0] for row in rows]
