"""Reading the long connection's frames as WeCom's SDK defines them, and refusing everything
else with a reason that never quotes the frame; and the wait before dialling again."""

from __future__ import annotations

import json

import pytest

from adapters.inbound.wecom_aibot.aibot_frames import (
    MAX_FRAME_BYTES,
    Ack,
    BadFrame,
    FeedbackIn,
    MessageIn,
    Replaced,
    Skipped,
    markdown_body,
    read_frame,
    request,
    stream_body,
)
from adapters.inbound.wecom_aibot.aibot_link_holder import reconnect_delay

BOT = "aibot:team"


def frame(cmd: str | None, body: dict | None = None, req_id: str = "R1", **extra) -> str:
    raw: dict = {"headers": {"req_id": req_id}, **extra}
    if cmd is not None:
        raw["cmd"] = cmd
    if body is not None:
        raw["body"] = body
    return json.dumps(raw, ensure_ascii=False)


def read(raw):
    return read_frame(raw, BOT, lambda: 1_700_000_000.0)


TEXT = {"msgid": "MSG1", "aibotid": "aib", "chatid": "wrkG", "chattype": "group",
        "from": {"userid": "zhangsan"}, "msgtype": "text", "text": {"content": "@小知 你好"}}


def test_a_message_carries_its_req_id_and_channel():
    message = read(frame("aibot_msg_callback", TEXT, req_id="REQ-9")).message
    assert (message.msg_id, message.chat_id, message.content) == ("MSG1", "wrkG", "@小知 你好")
    assert (message.req_id, message.channel, message.dedup_key) == (
        "REQ-9", BOT, f"{BOT}/msg:MSG1",
    )


def test_voice_and_mixed_messages_read_their_words():
    voice = {**TEXT, "chattype": "single", "msgtype": "voice", "voice": {"content": "几点了"}}
    mixed = {**TEXT, "msgtype": "mixed", "mixed": {"msg_item": [
        {"msgtype": "text", "text": {"content": "看图"}},
        {"msgtype": "image", "image": {"url": "https://x/1", "aeskey": "k"}},
    ]}}
    assert read(frame("aibot_msg_callback", voice)).message.content == "几点了"
    assert read(frame("aibot_msg_callback", mixed)).message.content == "看图"


def test_events_enter_chat_feedback_and_disconnected():
    base = {"msgid": "EV1", "create_time": 1, "aibotid": "aib", "from": {"userid": "lisi"},
            "msgtype": "event"}
    enter = read(frame("aibot_event_callback", {**base, "event": {"eventtype": "enter_chat"}}))
    assert isinstance(enter, MessageIn)
    assert (enter.message.msg_type, enter.message.event, enter.message.req_id) == (
        "event", "enter_chat", "R1",
    )
    feedback = read(frame("aibot_event_callback", {**base, "event": {
        "eventtype": "feedback_event",
        "feedback_event": {
            "id": "MSG1", "type": 2, "content": "不对", "inaccurate_reason_list": [1, 3],
        },
    }}))
    assert isinstance(feedback, FeedbackIn)
    assert (feedback.feedback.feedback_id, feedback.feedback.rating, feedback.feedback.reasons) == (
        "MSG1", "bad", (1, 3),
    )
    gone = {**base, "event": {"eventtype": "disconnected_event"}}
    assert isinstance(read(frame("aibot_event_callback", gone)), Replaced)
    card = {**base, "event": {"eventtype": "template_card_event"}}
    assert read(frame("aibot_event_callback", card)) == Skipped("event template_card_event")


def test_acks_with_or_without_a_cmd():
    assert read(frame(None, errcode=0, errmsg="ok")) == Ack("R1", 0, "ok")
    assert read(frame("aibot_subscribe", errcode=853000, errmsg="invalid")) == Ack(
        "R1", 853000, "invalid"
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json {", "frame is not JSON"),
        ("[1, 2]", "frame is not a JSON object"),
        ("[" * 100_000, "frame is not JSON"),
        (json.dumps({"cmd": "aibot_msg_callback", "body": TEXT}), "headers.req_id is missing"),
        (frame("aibot_msg_callback", req_id="x" * 200), "headers.req_id is missing"),
        (frame("aibot_msg_callback"), "body is missing"),
        (frame("aibot_msg_callback", {**TEXT, "chattype": "channel"}), "chattype is neither"),
        (frame("aibot_msg_callback", {k: v for k, v in TEXT.items() if k != "msgid"}),
         "msgid is missing"),
        (frame("aibot_event_callback", {"event": {}}), "event.eventtype is missing"),
        (frame("aibot_event_callback", {"msgid": "E", "from": {"userid": "u"},
                                        "event": {"eventtype": "feedback_event"}}),
         "feedback_event has no feedback_event object"),
        (frame("aibot_surprise", {"secret": "do-not-echo"}), "unknown cmd 'aibot_surprise'"),
        (frame(None, errcode="0"), "errcode is not an integer"),
        ("x" * (MAX_FRAME_BYTES + 1), f"exceeds {MAX_FRAME_BYTES}"),
    ],
)
def test_what_is_not_a_wecom_frame_is_refused_without_quoting_it(raw, reason):
    with pytest.raises(BadFrame) as refused:
        read(raw)
    assert reason in str(refused.value)
    assert "do-not-echo" not in str(refused.value) and "小知" not in str(refused.value)


def test_frames_out_have_the_sdks_shape():
    body = stream_body("MSG1", "答", True, "MSG1")
    sent = json.loads(request("aibot_respond_msg", "REQ-9", body))
    assert sent == {"cmd": "aibot_respond_msg", "headers": {"req_id": "REQ-9"}, "body": {
        "msgtype": "stream",
        "stream": {"id": "MSG1", "finish": True, "content": "答", "feedback": {"id": "MSG1"}},
    }}
    assert "feedback" not in stream_body("MSG1", "答", False, None)["stream"]
    assert markdown_body("zhangsan", "**hi**") == {
        "chatid": "zhangsan", "msgtype": "markdown", "markdown": {"content": "**hi**"},
    }
    assert json.loads(request("ping", "ping_1")) == {"cmd": "ping", "headers": {"req_id": "ping_1"}}


def test_reconnecting_waits_one_second_doubling_to_a_minute_spread_by_jitter():
    assert [reconnect_delay(n, 1.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [reconnect_delay(n, 0.0) for n in (0, 6)] == [0.8, 48.0]
