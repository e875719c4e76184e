"""GET /admin/api/export?since=&until=&format=jsonl|csv: the events of a period, for audit,
as recorded (each in its schema version), streamed page by page so memory stays at one page
whatever the range. Each event's data passes through `mask` (the values of the configured
secrets and of the access tokens seen), and a message's response_url, a credential of its
own, is replaced by "***", as are its pictures' and files' download URLs and keys."""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from adapters.inbound.operator.query_dates import BadDate, time_param
from application.ports.operator_reads import OperatorReads, RecordedEvent

log = logging.getLogger(__name__)

PAGE = 1000
MASKED = "***"
_COLUMNS = ("position", "occurred_at", "type", "stream_id", "version", "conversation_id",
            "schema_version", "data")
_FORMATS = {
    "jsonl": "application/x-ndjson; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}


class ExportApi:
    def __init__(
        self,
        reads: OperatorReads,
        mask: Callable[[str], str],
        clock: Callable[[], float] = time.time,
        page: int = PAGE,
    ):
        self._reads = reads
        self._mask = mask
        self._clock = clock
        self._page = page

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/export", self.export, methods=["GET"])]

    async def export(self, request: Request) -> Response:
        form = request.query_params.get("format") or "jsonl"
        if form not in _FORMATS:
            return JSONResponse({"error": "format must be jsonl or csv"}, 400)
        try:
            since = time_param(request, "since", 0.0)
            until = time_param(request, "until", self._clock())
        except BadDate as err:
            return JSONResponse({"error": str(err)}, 400)
        if since >= until:
            return JSONResponse({"error": "since is not before until"}, 400)
        client = request.client.host if request.client else "?"
        log.info("audit export of %s to %s (%s) for %s", _iso(since), _iso(until), form, client)
        lines = self._csv(since, until) if form == "csv" else self._jsonl(since, until)
        return StreamingResponse(
            lines,
            media_type=_FORMATS[form],
            headers={"Content-Disposition": f'attachment; filename="weworktop-events.{form}"'},
        )

    async def _pages(self, since: float, until: float) -> AsyncIterator[list[RecordedEvent]]:
        after = 0
        while page := await self._reads.events_between(since, until, after, self._page):
            yield page
            after = page[-1].position

    async def _jsonl(self, since: float, until: float) -> AsyncIterator[str]:
        async for page in self._pages(since, until):
            yield "".join(self._line(recorded) for recorded in page)

    async def _csv(self, since: float, until: float) -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(_COLUMNS)
        async for page in self._pages(since, until):
            for recorded in page:
                # The data column is one JSON object, so it starts with "{" and no spreadsheet
                # takes what a member wrote for a formula.
                at = _iso(recorded.occurred_at)
                writer.writerow([*_head(recorded, at).values(), self._data(recorded)])
            yield out.getvalue()
            out.seek(0)
            out.truncate()

    def _line(self, recorded: RecordedEvent) -> str:
        # The recorded JSON goes in as it is, not decoded and encoded again: 100,000 events
        # take seconds, not tens of them.
        head = json.dumps(_head(recorded, recorded.occurred_at), ensure_ascii=False)
        return f'{head[:-1]}, "data": {self._data(recorded)}}}\n'

    def _data(self, recorded: RecordedEvent) -> str:
        data = recorded.data
        if recorded.event_type == "MessageReceived":
            fields = json.loads(data)
            message = fields.get("message")
            if isinstance(message, dict) and _credentials_masked(message):
                data = json.dumps(fields, ensure_ascii=False)
        return self._mask(data)


def _credentials_masked(message: dict[str, Any]) -> bool:
    """Masks a message's credentials: its response_url, and where its pictures and files
    are downloaded (a signed URL) with what key. Whether there were any."""
    found = False
    if message.get("response_url"):
        message["response_url"] = MASKED
        found = True
    for item in message.get("attachments") or ():
        item["ref"] = MASKED
        if item.get("aeskey"):
            item["aeskey"] = MASKED
        found = True
    return found


def _head(recorded: RecordedEvent, at: float | str) -> dict[str, Any]:
    return {
        "position": recorded.position,
        "occurred_at": at,
        "type": recorded.event_type,
        "stream_id": recorded.stream_id,
        "version": recorded.version,
        "conversation_id": recorded.conversation_id,
        "schema_version": recorded.schema_version,
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
