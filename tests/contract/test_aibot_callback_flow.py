"""The AI bot's callback as WeCom meets it, over HTTP on 127.0.0.1: the service as the
container wires it (SQLite store, scheduler, streaming ask), a fake model that writes slowly,
and a local stand-in for response_url. A stream is assembled across refresh callbacks; an
answer slower than the stream arrives late through response_url, once."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pytest
from dependency_injector import providers

from application.channels.aibot.stream_board import StreamTiming
from domain.aibot_text import TAKING_LONGER
from infrastructure.app_factory import build_app
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.fakes.chat_model import FakeChatModel
from tests.standins.aibot_response_standin import PATH, AiBotResponseStandIn
from tests.support.aibot_caller import AiBotCaller, grows_monotonically, stored_event_types
from tests.support.aibot_signing import AiBotPeer, text_payload
from tests.support.e2e import random_key
from tests.support.live_server import serve
from tests.support.service_process import wait_until

ANSWER = "周会在周三上午十点，地点是三楼大会议室。请提前五分钟到场。"
CHAT = "wrkGroupA"


class Served:
    def __init__(self, caller: AiBotCaller, responses: AiBotResponseStandIn, database, base):
        self.caller, self.responses, self.database = caller, responses, database
        self.response_base = base

    def mention(self, msg_id: str, content: str = "@小知 周会几点？") -> dict:
        url = f"{self.response_base}{PATH}?response_code=rc-{msg_id}"
        return text_payload(msg_id, content, chat_id=CHAT, response_url=url)


def serve_bot(tmp_path, model: FakeChatModel, stream_seconds: float, response_base: str):
    token, aes_key = random_key(32), random_key(43)
    raw = {
        "services": {
            "weworktop": {
                "corp_id": "ww-unused", "corp_secret": "unused", "agent_id": 1000001,
                "token": random_key(32), "aes_key": random_key(43),
                # The app's API is never needed here; the response_url stand-in plays the API's
                # origin, the only one besides WeCom's that a response_url may name.
                "api_base_url": response_base,
                "group_name_white_list": [CHAT],
                "aibot": {"enabled": True, "token": token, "aes_key": aes_key},
            }
        },
        "storage": {"url": f"sqlite:///{tmp_path}/events.db"},
    }
    config, _ = parse_config(raw, {})
    container = Container(config=config)
    container.chat_model.override(model)
    bot = container.channel_containers()["aibot:default"]
    bot.stream_timing.override(providers.Object(StreamTiming(stream_seconds)))
    return build_app(container), AiBotPeer(token, aes_key)


@pytest.fixture
def responses():
    return AiBotResponseStandIn()


def slow_model(seconds_per_piece: float) -> FakeChatModel:
    return FakeChatModel(
        [ANSWER], piece_chars=4, between_pieces=lambda: asyncio.sleep(seconds_per_piece)
    )


@contextmanager
def served(tmp_path, responses, model: FakeChatModel, stream_seconds: float):
    with serve(responses.app) as response_base:
        app, peer = serve_bot(tmp_path, model, stream_seconds, response_base)
        with serve(app) as base:
            yield Served(
                AiBotCaller(peer, f"{base}/wework_aibot"), responses, tmp_path / "events.db",
                response_base,
            )


@pytest.fixture
def quick(tmp_path, responses):
    # Slow enough that refreshes see it grow even on a loaded machine (about 1.5 s in all).
    with served(tmp_path, responses, slow_model(0.15), stream_seconds=300) as bot:
        yield bot


@pytest.fixture
def late(tmp_path, responses):
    with served(tmp_path, responses, slow_model(0.25), stream_seconds=1.0) as bot:
        yield bot


def test_a_stream_is_assembled_across_refresh_callbacks(quick):
    opening = quick.caller.send(quick.mention("M1"))
    contents = quick.caller.follow("M1")

    assert opening["stream"] == {"id": "M1", "finish": False, "content": ""}
    assert grows_monotonically(contents)
    assert len(set(contents)) > 3, "the answer was seen growing, not only at the end"
    assert contents[-1] == ANSWER
    assert stored_event_types(quick.database, "aibot:default/msg:M1") == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]
    assert quick.responses.posted == []


def test_a_retried_message_callback_rejoins_its_stream_and_is_answered_once(quick):
    first = quick.caller.send(quick.mention("M2"))
    retry = quick.caller.send(quick.mention("M2"))
    contents = quick.caller.follow("M2")

    assert first["stream"]["id"] == retry["stream"]["id"] == "M2"
    assert contents[-1] == ANSWER
    assert stored_event_types(quick.database, "aibot:default/msg:M2").count("AnswerComposed") == 1


def test_an_answer_slower_than_the_stream_arrives_once_through_response_url(late):
    late.caller.send(late.mention("M3"))
    contents = late.caller.follow("M3")

    assert contents[-1].endswith(TAKING_LONGER)
    assert grows_monotonically(contents)
    # The delivery is recorded once WeCom has taken it: wait for the record, not the POST.
    wait_until(
        lambda: stored_event_types(late.database, "aibot:default/msg:M3")[-1] == "ReplyDelivered",
        timeout=15, what="the late answer recorded as delivered",
    )
    [posted] = late.responses.posted
    assert posted.response_code == "rc-M3"
    assert posted.body == {"msgtype": "markdown", "markdown": {"content": ANSWER}}
    assert stored_event_types(late.database, "aibot:default/msg:M3") == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]
