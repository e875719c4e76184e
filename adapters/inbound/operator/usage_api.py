"""GET /admin/api/usage: what the models cost, totalled by member, department, channel or
day over a range of UTC days, with the estimated cost from `llm.price`."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.inbound.operator.query_dates import BadDate, day_param, days_before, today
from application.operator.usage_report import UsageReport
from application.ports.usage import USAGE_GROUPINGS

# Without `since`, the last 30 days (today included).
DEFAULT_DAYS = 30


class UsageApi:
    def __init__(self, report: UsageReport):
        self._report = report

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/usage", self.usage, methods=["GET"])]

    async def usage(self, request: Request) -> Response:
        by = request.query_params.get("by") or "member"
        if by not in USAGE_GROUPINGS:
            return JSONResponse({"error": f"by must be one of {', '.join(USAGE_GROUPINGS)}"}, 400)
        try:
            until = day_param(request, "until", today())
            since = day_param(request, "since", days_before(until, DEFAULT_DAYS - 1))
        except BadDate as err:
            return JSONResponse({"error": str(err)}, 400)
        if since > until:
            return JSONResponse({"error": "since is after until"}, 400)
        totals = await self._report.totals(by, since.isoformat(), until.isoformat())
        return JSONResponse(
            {
                "by": by,
                "since": since.isoformat(),
                "until": until.isoformat(),
                "totals": [dataclasses.asdict(total) for total in totals],
            }
        )
