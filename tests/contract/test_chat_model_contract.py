"""What every ChatModel promises, run against the fake, the offline echo model and the httpx
adapter talking to an OpenAI-compatible stand-in; then what only the httpx adapter promises:
the request it sends, when it retries, how it fails, and that the API key never leaks."""

from __future__ import annotations

import base64
import json
import logging
import time
import traceback

import httpx
import pytest

from application.ports.models import ChatMessage, ChatModelError, ImagePart, TextPart
from domain.usage import Usage
from tests.standins.openai_media_standin import sample_png
from tests.standins.openai_standin import OpenAIStandIn, image_urls
from tests.support.chat_models import (
    EchoChatModels,
    FakeChatModels,
    HttpxOpenAIChatModels,
    make_model,
)
from tests.support.live_server import free_port

CONVERSATION = (
    ChatMessage("system", "你是一个乐于助人的助手。"),
    ChatMessage("user", "第一个问题"),
    ChatMessage("assistant", "第一个回答"),
    ChatMessage("user", "今天天气怎么样？"),
)
SECRET = "sk-test-9f8e7d6c5b4a39281706"
PICTURE = ImagePart("data:image/png;base64," + base64.b64encode(sample_png()).decode())
WITH_PICTURE = (
    ChatMessage("system", "你是一个乐于助人的助手。"),
    ChatMessage("user", (TextPart("Describe this picture"), PICTURE)),
)
MODULE_LOGGER = "adapters.outbound.openai.httpx_openai_chat_model"


class ChatModelContract:
    """Subclasses provide `model` and `broken_model` (None when the model cannot fail)."""

    async def test_answers_a_conversation_with_text(self, model):
        answer = await model.complete(CONVERSATION, max_tokens=200)

        assert isinstance(answer.text, str) and answer.text.strip()

    async def test_the_answer_follows_the_last_user_message(self, model):
        joke = CONVERSATION[:-1] + (ChatMessage("user", "讲个笑话"),)

        about_weather = await model.complete(list(CONVERSATION), max_tokens=200)
        about_joke = await model.complete(joke, max_tokens=200)

        assert about_weather.text != about_joke.text

    async def test_a_long_answer_stays_within_max_tokens(self, model):
        # Four characters per token is more than any tokenizer gives, so this bound is safe.
        answer = await model.complete([ChatMessage("user", "长" * 5000)], max_tokens=50)

        assert 0 < len(answer.text) <= 50 * 4

    async def test_answers_a_question_with_a_picture_with_text(self, model):
        answer = await model.complete(WITH_PICTURE, max_tokens=200)

        assert "Describe this picture" in answer.text

    async def test_a_model_that_cannot_answer_raises_chat_model_error(self, broken_model):
        if broken_model is None:
            pytest.skip("this model has nothing that can fail")

        with pytest.raises(ChatModelError):
            await broken_model.complete(CONVERSATION, max_tokens=200)


class TestFakeChatModel(FakeChatModels, ChatModelContract):
    pass


class TestEchoChatModel(EchoChatModels, ChatModelContract):
    async def test_tells_a_pictures_size_and_main_colours(self, model):
        answer = await model.complete(WITH_PICTURE, max_tokens=200)

        assert "I see a picture: 48x32, main colours #1e78c8" in answer.text


@pytest.fixture
def standin():
    return OpenAIStandIn()


class TestHttpxOpenAIChatModel(HttpxOpenAIChatModels, ChatModelContract):
    pass


async def test_sends_the_model_the_conversation_in_order_with_the_key(client, served, standin):
    standin.api_key = SECRET
    model = make_model(client, served, api_key=SECRET, model="qwen-plus", temperature=0.3)

    answer = await model.complete(CONVERSATION, max_tokens=321)

    assert answer.text == "answer to: 今天天气怎么样？"
    assert standin.requests == [
        {
            "model": "qwen-plus",
            "messages": [{"role": m.role, "content": m.content} for m in CONVERSATION],
            "max_tokens": 321,
            "temperature": 0.3,
        }
    ]
    assert standin.authorizations == [f"Bearer {SECRET}"]


async def test_the_servers_count_of_tokens_comes_back_with_the_answer(client, served, standin):
    answer = await make_model(client, served).complete(CONVERSATION, max_tokens=100)
    assert answer.usage == Usage(tokens_in=7, tokens_out=4)

    standin.send_usage = False
    assert (await make_model(client, served).complete(CONVERSATION, max_tokens=100)).usage is None


async def test_a_picture_goes_as_an_image_url_part_to_the_vision_model(client, served, standin):
    model = make_model(client, served, model="qwen-plus", vision_model="qwen-vl-plus")

    await model.complete(WITH_PICTURE, max_tokens=100)
    await model.complete(CONVERSATION, max_tokens=100)

    with_picture, text_only = standin.requests
    assert with_picture["model"] == "qwen-vl-plus" and text_only["model"] == "qwen-plus"
    assert with_picture["messages"][1]["content"] == [
        {"type": "text", "text": "Describe this picture"},
        {"type": "image_url", "image_url": {"url": PICTURE.url}},
    ]
    assert image_urls(with_picture["messages"][1]) == [PICTURE.url]


async def test_without_a_vision_model_pictures_go_to_the_model(client, served, standin):
    await make_model(client, served, model="gpt-4o").complete(WITH_PICTURE, max_tokens=100)

    assert standin.requests[0]["model"] == "gpt-4o"


async def test_without_a_key_sends_no_authorization_and_no_temperature(client, served, standin):
    await make_model(client, served, api_key=None).complete(CONVERSATION, max_tokens=100)

    assert standin.authorizations == [None]
    assert "temperature" not in standin.requests[0]


async def test_a_base_url_with_a_trailing_slash_reaches_the_same_endpoint(client, served, standin):
    answer = await make_model(client, served + "/").complete(CONVERSATION, max_tokens=100)

    assert answer.text == "answer to: 今天天气怎么样？"
    assert len(standin.requests) == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_a_passing_failure_is_retried_and_one_answer_returned(
    client, served, standin, caplog, status
):
    standin.fail_next(status)

    answer = await make_model(client, served).complete(CONVERSATION, max_tokens=100)

    assert answer.text == "answer to: 今天天气怎么样？"
    assert len(standin.requests) == 2
    retries = [r for r in caplog.records if r.name == MODULE_LOGGER]
    assert [r.levelno for r in retries] == [logging.WARNING]
    assert str(status) in retries[0].getMessage()


@pytest.mark.parametrize("attempts", [1, 3])
async def test_a_lasting_server_error_gives_up_after_the_configured_attempts(
    client, served, standin, attempts
):
    standin.fail_next(503, times=10)
    model = make_model(client, served, retry_attempts=attempts)

    with pytest.raises(ChatModelError, match="answered 503") as caught:
        await model.complete(CONVERSATION, max_tokens=100)

    assert len(standin.requests) == attempts
    assert f"attempts: {attempts}" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "llm.api_key"), (403, "llm.api_key"), (404, "llm.base_url")],
)
async def test_a_refused_request_fails_at_once_with_a_hint(client, served, standin, status, hint):
    standin.fail_next(status, times=10)

    with pytest.raises(ChatModelError) as caught:
        await make_model(client, served).complete(CONVERSATION, max_tokens=100)

    assert f"answered {status}" in str(caught.value) and hint in str(caught.value)
    assert len(standin.requests) == 1


async def test_a_bad_request_shows_the_server_reason_without_the_key(client, served, standin):
    standin.fail_next(400, times=10, message=f"max_tokens is too large for key {SECRET}")

    with pytest.raises(ChatModelError) as caught:
        await make_model(client, served, api_key=SECRET).complete(CONVERSATION, max_tokens=100)

    assert "answered 400" in str(caught.value)
    assert "max_tokens is too large" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert len(standin.requests) == 1


async def test_a_wrong_key_is_never_repeated_in_errors_or_logs(client, served, standin, caplog):
    caplog.set_level(logging.DEBUG)
    standin.api_key = "the-right-key"

    with pytest.raises(ChatModelError) as caught:
        await make_model(client, served, api_key=SECRET).complete(CONVERSATION, max_tokens=100)

    assert "401" in str(caught.value) and "llm.api_key" in str(caught.value)
    assert len(standin.requests) == 1, "a wrong key is not worth a second attempt"
    assert SECRET not in "".join(traceback.format_exception(caught.value))
    assert SECRET not in caplog.text


async def test_retries_with_a_good_key_never_log_it(client, served, standin, caplog):
    caplog.set_level(logging.DEBUG)
    standin.api_key = SECRET
    standin.fail_next(500, times=2)

    await make_model(client, served, api_key=SECRET).complete(CONVERSATION, max_tokens=100)

    assert len([r for r in caplog.records if r.name == MODULE_LOGGER]) == 2
    assert SECRET not in caplog.text


async def test_a_slow_server_times_out_within_bounded_time(served, standin):
    standin.delay = 1.0
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        model = make_model(impatient, served, retry_attempts=2)
        started = time.monotonic()

        with pytest.raises(ChatModelError, match=r"timed out after 0\.2s") as caught:
            await model.complete(CONVERSATION, max_tokens=100)

    assert time.monotonic() - started < standin.delay
    assert "attempts: 2" in str(caught.value)
    assert len(standin.requests) == 2


async def test_an_unreachable_server_is_retried_then_reported(client, caplog):
    base_url = f"http://127.0.0.1:{free_port()}/v1"

    with pytest.raises(ChatModelError, match="unreachable") as caught:
        await make_model(client, base_url, retry_attempts=2).complete(CONVERSATION, 100)

    assert base_url in str(caught.value)
    assert len([r for r in caplog.records if r.name == MODULE_LOGGER]) == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("<html>Bad Gateway</html>", "invalid JSON"),
        ("[1, 2]", "no choices"),
        (json.dumps({"id": "x", "object": "chat.completion"}), "no choices"),
        (json.dumps({"choices": []}), "no choices"),
        (json.dumps({"choices": [{"index": 0}]}), r"no text \(finish_reason: None\)"),
        (
            json.dumps({"choices": [{"message": {"content": ["a"]}, "finish_reason": "stop"}]}),
            r"no text \(finish_reason: stop\)",
        ),
        (
            json.dumps(
                {
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": None},
                            "finish_reason": "content_filter",
                        }
                    ]
                }
            ),
            r"no text \(finish_reason: content_filter\)",
        ),
    ],
)
async def test_a_malformed_answer_fails_without_retrying(client, served, standin, raw, reason):
    standin.send_raw_next(raw, times=10)

    with pytest.raises(ChatModelError, match=reason):
        await make_model(client, served).complete(CONVERSATION, max_tokens=100)

    assert len(standin.requests) == 1
