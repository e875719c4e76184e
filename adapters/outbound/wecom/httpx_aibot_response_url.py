"""The AI bot's response_url over httpx: one markdown message to the chat a message came from.

A response_url is a credential of its own (whoever holds it may post into the chat for an
hour), so it never appears in an error or a log line: failures name only what went wrong.
It came inside a message, so it is posted to only if it points to a trusted origin (WeCom's
API, or api_base_url), and nothing of what the other side answered goes into an error but
the errcode: the reason is recorded in events and shown to operators.
"""

from __future__ import annotations

import json

import httpx

from adapters.outbound.bounded_read import read_at_most
from application.ports.wecom import DeliveryError
from domain.url_origins import Origin, TrustedOrigins

# WeCom's busy answer: worth another try later. Any other errcode (a used or expired URL, a
# message WeCom will not take) is final.
_BUSY = -1
_ANSWER_LIMIT = 64 * 1024


class HttpxAiBotResponseUrl:
    """`client` must carry a timeout (the container gives it WeCom's); `origins` are where a
    response_url may point."""

    def __init__(self, client: httpx.AsyncClient, origins: TrustedOrigins):
        self._client = client
        self._origins = origins

    async def post_markdown(self, response_url: str, content: str) -> None:
        url = self._trusted(response_url)
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        failure: DeliveryError
        try:
            async with self._client.stream("POST", url, json=body) as response:
                answer = await read_at_most(response, _ANSWER_LIMIT)
                status = response.status_code
        except httpx.TimeoutException:
            failure = DeliveryError("response_url timed out", permanent=False)
        except httpx.HTTPError as err:
            failure = DeliveryError(
                f"response_url unreachable ({type(err).__name__})", permanent=False
            )
        else:
            _check(status, answer)
            return
        # Raised outside the except block: httpx's error, which holds the URL, is not chained.
        raise failure

    def _trusted(self, response_url: str) -> httpx.URL:
        """The URL as httpx will send it, judged by httpx's own reading of it (not another
        parser's, which could read a crafted URL's host differently)."""
        try:
            url = httpx.URL(response_url)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise DeliveryError("response_url is not an http(s) URL", permanent=True)
        if not self._origins.admits_origin(Origin.named(url.scheme, url.host, url.port)):
            raise DeliveryError(
                "response_url is not on WeCom's API origin (nor api_base_url's)", permanent=True
            )
        return url


def _check(status: int, answer: bytes | None) -> None:
    if status == 429 or status >= 500:
        raise DeliveryError(f"response_url answered HTTP {status}", permanent=False)
    if status >= 400:
        raise DeliveryError(f"response_url answered HTTP {status}", permanent=True)
    try:
        data = json.loads(answer or b"")
    except ValueError:
        raise DeliveryError(
            "response_url answered something that is not JSON", permanent=True
        ) from None
    errcode = data.get("errcode", 0) if isinstance(data, dict) else None
    if errcode == 0:
        return
    if not isinstance(errcode, int):
        raise DeliveryError("response_url answered without an errcode", permanent=True)
    raise DeliveryError(
        f"response_url refused the message: errcode {errcode}",
        errcode=errcode,
        permanent=errcode != _BUSY,
    )
