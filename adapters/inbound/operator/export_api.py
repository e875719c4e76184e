"""GET /admin/api/export?since=&until=&format=jsonl|csv: the events of a period, for audit,
streamed page by page so memory stays at one page whatever the range. Every text passes
through `mask` (the configured secrets and access tokens), and each message's response_url,
a credential of its own, is replaced by "***"."""

from __future__ import annotations

import csv
import dataclasses
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
from application.ports.operator_reads import OperatorReads, StoredEvent
from domain.events import Event

log = logging.getLogger(__name__)

PAGE = 1000
MASKED = "***"
_BASE_FIELDS = {field.name for field in dataclasses.fields(Event)}
_CSV_COLUMNS = ("position", "occurred_at", "type", "stream_id", "version", "conversation_id",
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

    async def _pages(self, since: float, until: float) -> AsyncIterator[list[dict[str, Any]]]:
        after = 0
        while page := await self._reads.events_between(since, until, after, self._page):
            yield [self._record(stored) for stored in page]
            after = page[-1].position

    async def _jsonl(self, since: float, until: float) -> AsyncIterator[str]:
        async for records in self._pages(since, until):
            yield "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)

    async def _csv(self, since: float, until: float) -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, _CSV_COLUMNS)
        writer.writeheader()
        async for records in self._pages(since, until):
            for record in records:
                # The data column is one JSON object, so it starts with "{" and no spreadsheet
                # takes what a member wrote for a formula.
                data = json.dumps(record["data"], ensure_ascii=False)
                at = _iso(record["occurred_at"])
                writer.writerow({**record, "occurred_at": at, "data": data})
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    def _record(self, stored: StoredEvent) -> dict[str, Any]:
        event = stored.event
        data = {
            name: value
            for name, value in dataclasses.asdict(event).items()
            if name not in _BASE_FIELDS
        }
        return {
            "position": stored.position,
            "occurred_at": event.occurred_at,
            "type": type(event).__name__,
            "stream_id": event.stream_id,
            "version": event.version,
            "conversation_id": event.conversation_id,
            "schema_version": event.schema_version,
            "data": self._masked(data),
        }

    def _masked(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: MASKED if key == "response_url" and item else self._masked(item)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self._masked(item) for item in value]
        return self._mask(value) if isinstance(value, str) else value


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
