"""Reading an HTTP body without trusting the server about its size: a misconfigured proxy or
a broken server can answer with gigabytes, and a worker must not hold them all in memory."""

from __future__ import annotations

import httpx


async def read_at_most(response: httpx.Response, limit: int) -> bytes | None:
    """The (decoded) body of a streamed response, or None as soon as it exceeds `limit`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
