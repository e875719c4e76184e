"""Fixtures the HTTP adapters' contract suites share. A module that serves a stand-in defines
`standin` (an object with an ASGI `app`); `served` is then its OpenAI-style base URL."""

from __future__ import annotations

import httpx
import pytest

from tests.support.live_server import serve


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def served(standin):
    with serve(standin.app) as base_url:
        yield f"{base_url}/v1"
