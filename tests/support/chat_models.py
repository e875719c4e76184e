"""The chat models both ChatModel contract suites (whole and streamed answers) run against:
the fake, the offline echo model, and the httpx adapter talking to the OpenAI stand-in. Each
class gives a suite's `model` and `broken_model` fixtures (None when the model cannot fail)."""

from __future__ import annotations

import pytest

from adapters.outbound.offline.echo_chat_model import EchoChatModel
from adapters.outbound.openai.httpx_openai_chat_model import HttpxOpenAIChatModel
from tests.fakes.chat_model import FakeChatModel


def make_model(client, base_url, **overrides) -> HttpxOpenAIChatModel:
    """The httpx adapter, retrying fast enough for tests."""
    settings = {
        "api_key": None,
        "model": "test-model",
        "retry_attempts": 3,
        "retry_initial_wait": 0.01,
        "retry_max_wait": 0.02,
    }
    return HttpxOpenAIChatModel(client, base_url, **(settings | overrides))


class FakeChatModels:
    @pytest.fixture
    def model(self):
        return FakeChatModel()

    @pytest.fixture
    def broken_model(self):
        fake = FakeChatModel()
        fake.fail_next("model is down")
        return fake


class EchoChatModels:
    @pytest.fixture
    def model(self):
        return EchoChatModel()

    @pytest.fixture
    def broken_model(self):
        return None


class HttpxOpenAIChatModels:
    """Needs the `client`, `served` and `standin` fixtures (tests/contract/conftest.py)."""

    @pytest.fixture
    def model(self, client, served):
        return make_model(client, served)

    @pytest.fixture
    def broken_model(self, client, served, standin):
        standin.fail_next(503, times=10)
        return make_model(client, served, retry_attempts=2)
