"""SECURITY.md's refusal table, row by row: each row's request gets the row's status, code and
log line, the caller learns nothing more, and the callback stores what the row says (what
happens to an accepted message afterwards is the policy's business, tested with it).

The table is read from SECURITY.md itself, so the page cannot drift from the code: a row
without a case here, or a case without a row, fails the first test.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.wecom_app.wecom_callback import WeComCallback
from application.pipeline.accept_message import AcceptMessage
from tests.fakes.event_store import InMemoryEventStore
from tests.support.hostile_callbacks import CASES, CallbackRequest, Peer

ROOT = Path(__file__).resolve().parents[3]
PATH = "/wework_callback"
CORP_ID, AGENT_ID = "ww1234567890", 1000001
TOKEN, AES_KEY = "Token123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PUBLIC_BODY = {400: "bad request", 403: "forbidden", 413: "request too large"}

# Rows that are not refusals: what a correctly signed but unexpected message gets.
NOT_HOSTILE = {
    "unknown-msgtype": lambda peer, rng: [peer.post_plaintext(peer.message(MsgType="shake"))],
}


class Notified:
    def __init__(self) -> None:
        self.conversations: list[str] = []

    def notify(self, conversation_id: str) -> None:
        self.conversations.append(conversation_id)


@dataclass(frozen=True)
class Row:
    status: int
    code: int | None
    log: str | None
    stored: list[str]


def read_table() -> dict[str, Row]:
    rows = {}
    for line in (ROOT / "SECURITY.md").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\| `([a-z0-9-]+)` \|(.*)\|", line.strip())
        if not match:
            continue
        _, status, code, log, stored = (cell.strip() for cell in match.group(2).split("|"))
        rows[match.group(1)] = Row(
            status=int(status),
            code=None if code == "—" else int(code),
            log=None if log == "—" else log.strip("`"),
            stored=re.findall(r"`(\w+)`", stored),
        )
    return rows


TABLE = read_table()
BUILDERS = {**CASES, **NOT_HOSTILE}


async def send(client: httpx.AsyncClient, request: CallbackRequest) -> httpx.Response:
    content = request.body
    if request.chunked:
        body = request.body

        async def chunks():
            for start in range(0, len(body), 16_384):
                yield body[start : start + 16_384]

        content = chunks()
    return await client.request(
        request.method, PATH, params=request.params, content=content, headers=request.headers
    )


def test_the_table_and_the_cases_name_the_same_rows():
    assert len(TABLE) >= 30
    assert sorted(TABLE) == sorted(BUILDERS)


@pytest.mark.parametrize("case", sorted(TABLE))
async def test_each_row_of_the_refusal_table_holds(case, caplog):
    row = TABLE[case]
    store, notified = InMemoryEventStore(), Notified()
    peer = Peer(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
    accept = AcceptMessage(store, notified)
    callback = WeComCallback(peer.crypto, accept, AGENT_ID, max_skew_seconds=300)
    app = Starlette(routes=callback.routes(PATH))
    *setup, bad = BUILDERS[case](peer, random.Random(case))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://wecom.test") as client:
        for request in setup:
            assert (await send(client, request)).status_code == 200
        caplog.clear()
        response = await send(client, bad)

    assert response.status_code == row.status
    if row.code is not None:
        assert response.text == PUBLIC_BODY[row.status]
        [refusal] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        start = f"callback to app:default from 203.0.113.9 refused with {row.status} "
        assert refusal.startswith(start)
        assert f"({row.code}): " in refusal and row.log in refusal
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [type(event).__name__ for event in store.log] == row.stored
    assert len(notified.conversations) == len(row.stored)  # no work for refused requests


async def test_an_unexpected_error_is_a_plain_400_with_the_traceback_only_in_our_log(caplog):
    class BrokenCrypto:
        def open_message(self, *args):
            raise RuntimeError("a bug that odd input found")

    store = InMemoryEventStore()
    peer = Peer(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
    accept = AcceptMessage(store, Notified())
    callback = WeComCallback(BrokenCrypto(), accept, AGENT_ID, max_skew_seconds=300)
    app = Starlette(routes=callback.routes(PATH))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wecom.test") as client:
        response = await send(client, peer.post_plaintext(peer.message()))

    assert (response.status_code, response.text) == (400, "bad request")
    assert "refused with 400 after an unexpected error" in caplog.text
    assert "a bug that odd input found" in caplog.text  # the traceback, for us
    assert store.log == []
