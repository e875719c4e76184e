"""What every ChatModel promises when it streams, run against the fake, the offline echo
model and the httpx adapter reading server-sent events from an OpenAI-compatible stand-in;
then what only the httpx adapter promises about its streamed requests and their failures."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from adapters.outbound.openai import httpx_openai_chat_model
from application.ports.models import ChatMessage, ChatModelError
from domain.usage import Usage
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.chat_models import (
    EchoChatModels,
    FakeChatModels,
    HttpxOpenAIChatModels,
    make_model,
)
from tests.support.live_server import serve

CONVERSATION = (
    ChatMessage("system", "你是一个乐于助人的助手。"),
    ChatMessage("user", "今天天气怎么样？"),
)
SECRET = "sk-test-stream-5b4a39281706"


async def streamed(model, messages=CONVERSATION, max_tokens=200) -> list[str]:
    """The pieces of text; a Usage, if the model sends one, must come last."""
    items = [item async for item in model.stream(messages, max_tokens)]
    if items and isinstance(items[-1], Usage):
        items.pop()
    assert not any(isinstance(item, Usage) for item in items)
    return items


class StreamingChatModelContract:
    """Subclasses provide `model` and `broken_model` (None when the model cannot fail)."""

    async def test_the_answer_arrives_in_several_pieces_that_make_the_whole_answer(self, model):
        pieces = await streamed(model)
        assert len(pieces) > 1 and all(pieces)
        assert "".join(pieces) == (await model.complete(CONVERSATION, max_tokens=200)).text

    async def test_a_streamed_answer_stays_within_max_tokens(self, model):
        pieces = await streamed(model, [ChatMessage("user", "长" * 5000)], max_tokens=50)
        assert 0 < len("".join(pieces)) <= 50 * 4

    async def test_a_model_that_cannot_answer_raises_chat_model_error(self, broken_model):
        if broken_model is None:
            pytest.skip("this model has nothing that can fail")
        with pytest.raises(ChatModelError):
            await streamed(broken_model)


class TestFakeChatModel(FakeChatModels, StreamingChatModelContract):
    pass


class TestEchoChatModel(EchoChatModels, StreamingChatModelContract):
    pass


@pytest.fixture
def standin():
    return OpenAIStandIn()


class TestHttpxOpenAIChatModel(HttpxOpenAIChatModels, StreamingChatModelContract):
    pass


async def test_asks_the_server_to_stream_with_the_conversation_and_the_key(client, served, standin):
    standin.api_key = SECRET
    model = make_model(client, served, api_key=SECRET, model="qwen-plus", temperature=0.3)

    assert "".join(await streamed(model, max_tokens=321)) == "answer to: 今天天气怎么样？"
    assert standin.requests == [
        {
            "model": "qwen-plus",
            "messages": [{"role": m.role, "content": m.content} for m in CONVERSATION],
            "max_tokens": 321,
            "temperature": 0.3,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ]
    assert standin.authorizations == [f"Bearer {SECRET}"]


async def test_the_servers_count_of_tokens_ends_the_stream(client, served, standin):
    whole = await make_model(client, served).complete(CONVERSATION, max_tokens=200)
    items = [item async for item in make_model(client, served).stream(CONVERSATION, 200)]
    assert items[-1] == whole.usage and whole.usage.tokens_out > 0

    standin.send_usage = False
    items = [item async for item in make_model(client, served).stream(CONVERSATION, 200)]
    assert not any(isinstance(item, Usage) for item in items)


async def test_a_failure_before_the_first_piece_is_retried_once_and_streams(
    client, served, standin, caplog
):
    standin.fail_next(503)
    assert "".join(await streamed(make_model(client, served))) == "answer to: 今天天气怎么样？"
    assert len(standin.requests) == 2
    assert "503" in caplog.text


async def test_a_refusal_names_the_setting_to_check_and_never_the_key(
    client, served, standin, caplog
):
    caplog.set_level(logging.DEBUG)
    standin.api_key = "the-right-key"
    with pytest.raises(ChatModelError, match=r"answered 401 \(check llm.api_key\)") as caught:
        await streamed(make_model(client, served, api_key=SECRET))
    assert len(standin.requests) == 1
    assert SECRET not in "".join(traceback.format_exception(caught.value)) + caplog.text


def sse(*chunks: str) -> str:
    return "".join(f"data: {chunk}\n\n" for chunk in chunks)


def delta(text: str) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]})


async def test_comments_multi_line_data_and_chunks_without_text_are_read_as_sse(
    client, served, standin
):
    usage = json.dumps({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
    multi_line = '{"choices": [{"delta":\ndata: {"content": "三"}}]}'
    standin.send_raw_next(
        ": keep-alive\n\n" + sse(json.dumps({"choices": [{"delta": {"role": "assistant"}}]}))
        + sse(delta("一"), delta("二"), multi_line, usage, "[DONE]") + sse(delta("not read"))
    )
    items = [item async for item in make_model(client, served).stream(CONVERSATION, 100)]
    assert items == ["一", "二", "三", Usage(tokens_in=7, tokens_out=3)]


@pytest.mark.parametrize(
    ("chunk", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({"error": {"message": f"overloaded, key {SECRET}"}}), "overloaded"),
    ],
)
async def test_a_stream_that_breaks_off_fails_after_the_pieces_it_gave(
    client, served, standin, chunk, reason
):
    standin.send_raw_next(sse(delta("前半"), chunk, delta("后半")), times=3)
    pieces = []
    with pytest.raises(ChatModelError, match=reason) as caught:
        async for piece in make_model(client, served, api_key=SECRET).stream(CONVERSATION, 100):
            pieces.append(piece)
    assert pieces == ["前半"]
    assert len(standin.requests) == 1, "an answer that has started is never started over"
    assert SECRET not in str(caught.value)


async def test_a_server_that_stops_sending_times_out(served, standin):
    standin.stream_delay = 1.0
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        with pytest.raises(ChatModelError, match=r"timed out after 0\.2s in the middle"):
            await streamed(make_model(impatient, served))
    assert len(standin.requests) == 1


def keep_alive_server(pause: float) -> Starlette:
    """A model server that starts its answer and then only ever sends keep-alives, each well
    within the client's read timeout (stopped when the client goes away)."""

    async def chat(_: Request) -> StreamingResponse:
        async def events():
            yield sse(delta("开始"))
            for _ in range(1_000_000):
                yield ": keep-alive\n\n"
                await asyncio.sleep(pause)

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


async def test_a_server_that_trickles_keep_alives_is_stopped_by_the_answer_timeout(client):
    with serve(keep_alive_server(pause=0.05)) as base:
        model = make_model(client, f"{base}/v1", answer_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(ChatModelError, match=r"did not finish its answer within 0\.5s"):
            await streamed(model)
    assert time.monotonic() - started < 2.0


async def test_a_server_that_never_stops_sending_is_cut_off_at_the_size_limit(
    client, monkeypatch
):
    monkeypatch.setattr(httpx_openai_chat_model, "_ANSWER_MAX_BYTES", 10_000)
    with (
        serve(keep_alive_server(pause=0.0)) as base,
        pytest.raises(ChatModelError, match="more than 10,000 characters"),
    ):
        await streamed(make_model(client, f"{base}/v1"))
