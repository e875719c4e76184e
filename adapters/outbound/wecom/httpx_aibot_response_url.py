"""The AI bot's response_url over httpx: one markdown message to the chat a message came from.

A response_url is a credential of its own (whoever holds it may post into the chat for an
hour), so it never appears in an error or a log line: failures name only what went wrong.
"""

from __future__ import annotations

import json

import httpx

from adapters.outbound.bounded_read import read_at_most
from application.ports.wecom import DeliveryError

# WeCom's busy answer: worth another try later. Any other errcode (a used or expired URL, a
# message WeCom will not take) is final.
_BUSY = -1
_ANSWER_LIMIT = 64 * 1024


class HttpxAiBotResponseUrl:
    """`client` must carry a timeout (the container gives it WeCom's)."""

    def __init__(self, client: httpx.AsyncClient):
        self._client = client

    async def post_markdown(self, response_url: str, content: str) -> None:
        url = httpx.URL(response_url)
        if url.scheme not in ("http", "https"):
            raise DeliveryError("response_url is not an http(s) URL", permanent=True)
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
    errmsg = str(data.get("errmsg", ""))[:200]
    raise DeliveryError(
        f"response_url refused the message: errcode {errcode} ({errmsg})",
        errcode=errcode,
        permanent=errcode != _BUSY,
    )
