"""GET /admin/api/export: the events of a period as JSON lines or CSV, streamed page by page
(served by uvicorn on 127.0.0.1, read as it arrives), response_url and secrets masked."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.export_api import ExportApi
from domain.messages import FILE, Attachment
from infrastructure.logging_setup import SecretRedactor
from tests.fakes.event_store import InMemoryEventStore
from tests.support.events import answered, received, text_message
from tests.support.live_server import serve

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "corp-secret-value-123"
JAN_1 = 1_767_225_600.0
URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=private"


class CountingStore(InMemoryEventStore):
    def __init__(self):
        super().__init__()
        self.pages_read = 0

    async def events_between(self, since, until, after_position, limit):
        self.pages_read += 1
        return await super().events_between(since, until, after_position, limit)


@pytest.fixture
async def store():
    store = CountingStore()
    for day in range(5):
        # A member may write what looks like a credential, quotes and all: the JSON stays.
        said = f'第{day}天 {SECRET} token="x\\" key=1'
        message = replace(
            text_message(said, str(day)), response_url=URL,
            attachments=(Attachment(FILE, f"{URL}&file={day}", aeskey="AESKEY" * 7),),
        )
        events = [received(message), answered(message, "好")]
        await store.append([replace(e, occurred_at=JAN_1 + day * 86400) for e in events])
    return store


def surface(store) -> AdminSurface:
    mask = SecretRedactor([SECRET]).without_secrets
    api = ExportApi(store, mask, clock=lambda: 2e9, page=3)
    return AdminSurface(TOKEN, store.statistics, api.routes())


@pytest.fixture
def base_url(store):
    with serve(Starlette(routes=[surface(store).mount()])) as url:
        yield url


def export(base_url, **params) -> httpx.Response:
    return httpx.get(f"{base_url}/admin/api/export", params=params, headers=AUTH, timeout=5)


def test_a_period_comes_as_json_lines_with_secrets_and_response_urls_masked(base_url):
    response = export(base_url, since="2026-01-02", until="2026-01-04")
    assert response.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [(r["type"], r["data"].get("answer")) for r in records] == [
        ("MessageReceived", None), ("AnswerComposed", "好"),
        ("MessageReceived", None), ("AnswerComposed", "好"),
    ]
    first = records[0]
    assert first["data"]["message"]["content"] == '第1天 [redacted] token="x\\" key=1'
    assert first["data"]["message"]["response_url"] == "***"
    assert first["data"]["message"]["attachments"][0] == {
        "kind": "file", "ref": "***", "aeskey": "***", "name": "", "quoted": False,
    }
    assert (first["stream_id"], first["version"], first["schema_version"]) == (
        "app:default/msg:1", 1, 1
    )
    assert SECRET not in response.text and "response_code" not in response.text
    assert "AESKEY" not in response.text


def test_csv_has_a_header_and_one_row_per_event(base_url):
    response = export(base_url, format="csv", since="2026-01-01T00:00:00+00:00")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 10
    assert rows[0]["occurred_at"] == "2026-01-01T00:00:00+00:00"
    assert json.loads(rows[1]["data"])["prompt"].startswith("第0天 [redacted] ")


async def test_the_export_reads_a_page_only_when_the_last_one_was_sent(store):
    """Plain ASGI, so the client's pace is exact: while the first chunk is not taken, no
    second page is read; memory is one page whatever the range."""
    app = Starlette(routes=[surface(store).mount()])
    scope = {
        "type": "http", "method": "GET", "path": "/admin/api/export", "query_string": b"",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode())], "http_version": "1.1",
        "scheme": "http", "server": ("admin.test", 80), "client": ("127.0.0.1", 1), "root_path": "",
    }
    taken, chunks = asyncio.Event(), []

    async def receive():
        await asyncio.Event().wait()  # the client neither sends more nor goes away

    async def send(message):
        if message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"])
            if len(chunks) == 1:
                await taken.wait()

    task = asyncio.create_task(app(scope, receive, send))
    while not chunks:
        await asyncio.sleep(0.01)
    assert store.pages_read == 1
    taken.set()
    await task
    assert store.pages_read == 5  # ten events in pages of three, and the empty page after
    assert len(b"".join(chunks).splitlines()) == 10


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"format": "xlsx"}, "format must be jsonl or csv"),
        ({"since": "yesterday"}, "since must be a day (2026-01-31) or a time"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "since is not before until"),
    ],
)
def test_bad_parameters_are_400_with_the_reason(base_url, params, error):
    response = export(base_url, **params)
    assert response.status_code == 400 and response.json()["error"].startswith(error)


def test_an_export_needs_the_bearer_token(base_url):
    assert httpx.get(f"{base_url}/admin/api/export").status_code == 401
