"""How long a busy model server asked us to wait, from its headers."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from adapters.outbound.openai.busy_server import retry_after


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "Retry-After": "1"}, 0.25),  # OpenAI's finer word first
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "x"}, None),
        ({}, None),
    ],
)
def test_the_wait_a_busy_server_asks_for(headers, seconds):
    assert retry_after(httpx.Headers(headers)) == seconds


def test_a_retry_after_date_is_the_time_until_then():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)

    assert 28 <= retry_after(httpx.Headers({"Retry-After": when})) <= 30
