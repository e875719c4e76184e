"""The real service (`python app.py --config …`) with the AI bot enabled, in front of a local
OpenAI-compatible stand-in that streams its answer in small chunks with small delays: a group
@-mention is answered by a stream that grows to the final text, exactly once."""

from __future__ import annotations

import pytest

from tests.standins.openai_standin import OpenAIStandIn
from tests.support.aibot_caller import AiBotCaller, grows_monotonically, stored_event_types
from tests.support.aibot_signing import AiBotPeer, text_payload
from tests.support.e2e import random_key
from tests.support.live_server import free_port, serve
from tests.support.service_process import ServiceProcess

CHAT = "wrkGroupNankai"


def reply_for(body: dict) -> str:
    question = body["messages"][-1]["content"]
    return f"关于「{question}」：周会在周三上午十点举行，地点是三楼大会议室，请提前五分钟到场。"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    model = OpenAIStandIn(reply=reply_for, stream_delay=0.03, chunk_chars=3)
    token, aes_key = random_key(32), random_key(43)
    database = tmp_path_factory.mktemp("db") / "events.db"
    with serve(model.app) as model_url:
        config = {
            "services": {
                "channel_type": "weworktop",
                "weworktop": {
                    "corp_id": "ww-e2e", "corp_secret": random_key(20), "agent_id": 1000002,
                    "token": random_key(32), "aes_key": random_key(43),
                    "api_base_url": f"http://127.0.0.1:{free_port()}",
                    "group_name_white_list": [CHAT],
                    "aibot": {"enabled": True, "token": token, "aes_key": aes_key},
                },
            },
            "llm": {"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in"},
            "storage": {"url": f"sqlite:///{database}"},
        }
        service = ServiceProcess(config, tmp_path_factory.mktemp("service"))
        service.start()
        caller = AiBotCaller(AiBotPeer(token, aes_key), f"{service.base_url}/wework_aibot")
        yield caller, model, service, database, (token, aes_key)
        service.stop()


def test_a_group_mention_is_answered_by_one_growing_stream_exactly_once(world, figures):
    caller, model, service, database, _ = world
    mention = text_payload("AIBOT-E2E-1", "@小知 周会几点？", chat_id=CHAT)

    opening = caller.send(mention)
    contents = caller.follow("AIBOT-E2E-1")
    retry = caller.send(mention)
    again = caller.follow("AIBOT-E2E-1")

    final = reply_for({"messages": [{"content": "周会几点？"}]})
    assert opening["stream"] == {"id": "AIBOT-E2E-1", "finish": False, "content": ""}
    assert grows_monotonically(contents) and contents[-1] == final
    assert len(set(contents)) > 3, "the answer was seen growing"
    assert retry["stream"]["id"] == "AIBOT-E2E-1" and again == [final]
    assert [r["stream"] for r in model.requests] == [True]
    assert stored_event_types(database, "aibot:default/msg:AIBOT-E2E-1") == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]
    figures(
        f"refreshes={len(contents)}, distinct contents={len(set(contents))}, "
        f"model requests={len(model.requests)}, final {len(final.encode())} bytes"
    )


def test_a_group_off_the_white_list_gets_no_stream_and_no_model_call(world):
    caller, model, _, database, _ = world
    before = len(model.requests)
    reply = caller.send(text_payload("AIBOT-E2E-2", "@小知 你好", chat_id="wrkGroupOther"))
    assert reply is None
    assert stored_event_types(database, "aibot:default/msg:AIBOT-E2E-2")[0] == "MessageReceived"
    assert len(model.requests) == before


def test_the_ai_bot_secrets_never_reach_the_log(world):
    *_, service, _, secrets_used = world
    log = service.log()
    assert "serving aibot default at /wework_aibot" in log
    assert not any(secret in log for secret in secrets_used)
