"""The AI bot's decrypted JSON, read strictly: whatever arrives, the parser either returns a
message (or a refresh, or an event) or refuses it with a reason, and never crashes."""

from __future__ import annotations

import contextlib
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.inbound.callback.callback_errors import CallbackRejected
from adapters.inbound.wecom_aibot.wecom_aibot_json import (
    MAX_PICTURES,
    NotAMessage,
    StreamRefresh,
    parse_callback,
    parse_envelope,
)
from domain.messages import FILE, PICTURE, Attachment, InboundMessage
from domain.url_origins import response_url_origins
from tests.support.aibot_signing import text_payload

FUZZ = settings(
    max_examples=int(os.environ.get("WEWORKTOP_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
KEYS = st.sampled_from(
    ["msgid", "msgtype", "chattype", "chatid", "from", "userid", "text", "content", "voice",
     "mixed", "msg_item", "stream", "id", "response_url", "event", "eventtype", "x",
     "image", "file", "url", "aeskey", "quote"]
)
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.sampled_from(["text", "group", "single", "mixed", "voice", "stream", "event", "",
                     "image", "file", "https://x.invalid/m"]),
    st.text(max_size=30),
)
JSONISH = st.recursive(
    LEAVES,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(KEYS, kids, max_size=6)),
    max_leaves=25,
)


ORIGINS = response_url_origins("http://127.0.0.1:5003")


def clock() -> float:
    return 1_700_000_000.0


@FUZZ
@given(st.dictionaries(KEYS, JSONISH, max_size=8))
def test_any_json_object_is_read_or_refused_never_crashes(data):
    try:
        result = parse_callback(json.dumps(data).encode(), clock, ORIGINS)
    except CallbackRejected:
        return
    assert isinstance(result, InboundMessage | StreamRefresh | NotAMessage)
    if isinstance(result, InboundMessage):
        assert result.msg_id and result.from_user and result.channel == "aibot:default"


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_are_read_or_refused_never_crash(data):
    for parse in (parse_envelope, lambda body: parse_callback(body, clock, ORIGINS)):
        with contextlib.suppress(CallbackRejected):
            parse(data)


def test_deep_nesting_is_refused_like_any_malformed_input():
    deep = b"[" * 100_000 + b"]" * 100_000
    for parse in (parse_envelope, lambda body: parse_callback(body, clock, ORIGINS)):
        try:
            parse(deep)
        except CallbackRejected as err:
            assert "not acceptable JSON" in err.reason
        else:
            raise AssertionError("deep nesting was accepted")


def test_a_message_is_stamped_on_arrival_and_keeps_where_to_answer_late():
    url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=1"
    payload = text_payload("M1", "你好", chat_id="wrkG", response_url=url)
    message = parse_callback(json.dumps(payload).encode(), clock, ORIGINS)
    assert message.create_time == 1_700_000_000 and message.agent_id == 0
    assert message.response_url == url
    assert message.dedup_key == "aibot:default/msg:M1"
    assert message.conversation_id == "aibot:default/group:wrkG"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/internal/admin",  # the service's own network
        "http://qyapi.weixin.qq.com/cgi-bin/aibot/response",  # WeCom's host, but not its scheme
        "https://qyapi.weixin.qq.com:8443/cgi-bin/aibot/response",  # nor its port
        "https://qyapi.weixin.qq.com.evil.example/r",
        "https://qyapi.weixin.qq.com@169.254.169.254/latest/meta-data",
        "http://127.0.0.1:5004/r",  # api_base_url's host, another port
        "http://10.0.0.7/r",
        "http://[::1]:5003/r",
        "http://host:abc/",
    ],
)
def test_a_response_url_off_wecoms_origin_is_refused(url):
    payload = text_payload("M1", "你好", response_url=url)
    with pytest.raises(CallbackRejected) as refused:
        parse_callback(json.dumps(payload).encode(), clock, ORIGINS)
    assert "response_url" in refused.value.reason and url not in refused.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
        "https://QYAPI.weixin.qq.com:443/cgi-bin/aibot/response?response_code=RC",
        "http://127.0.0.1:5003/cgi-bin/aibot/response?response_code=RC",  # api_base_url
    ],
)
def test_a_response_url_on_wecoms_origin_or_api_base_url_is_kept(url):
    payload = text_payload("M1", "你好", response_url=url)
    assert parse_callback(json.dumps(payload).encode(), clock, ORIGINS).response_url == url


@pytest.mark.parametrize("user", ["@all", "a|b", "张三", ""])
def test_a_sender_that_is_not_one_userid_is_refused(user):
    payload = text_payload("M1", "你好", user=user)
    with pytest.raises(CallbackRejected):
        parse_callback(json.dumps(payload).encode(), clock, ORIGINS)


# --- pictures, files and quotes ------------------------------------------------------------

URL = "https://wecom.example/media/1?sign=abc"


def parsed(**fields) -> InboundMessage:
    payload = {**text_payload("M1", ""), **fields}
    return parse_callback(json.dumps(payload, ensure_ascii=False).encode(), clock, ORIGINS)


def test_a_picture_and_a_file_are_attachments_with_their_url_and_key():
    picture = parsed(msgtype="image", image={"url": URL})
    document = parsed(msgtype="file", file={"url": URL, "aeskey": "K" * 44})
    assert picture.attachments == (Attachment(PICTURE, URL),) and picture.content == ""
    assert document.attachments == (Attachment(FILE, URL, aeskey="K" * 44),)


def test_a_mixed_messages_pictures_are_attachments_beside_its_words():
    items = [
        {"msgtype": "text", "text": {"content": "看这个报错"}},
        {"msgtype": "image", "image": {"url": URL}},
        {"msgtype": "image", "image": {"url": URL + "2"}},
    ]
    message = parsed(msgtype="mixed", mixed={"msg_item": items})
    assert message.content == "看这个报错"
    assert [a.ref for a in message.attachments] == [URL, URL + "2"]


def test_a_quote_gives_its_text_and_its_picture_marked_as_quoted():
    said = {"msgtype": "text", "text": {"content": "图里最高的是哪个？"}}
    quoting_text = parsed(**said, quote={"msgtype": "text", "text": {"content": "Q3 营收"}})
    quoting_picture = parsed(**said, quote={"msgtype": "image", "image": {"url": URL}})
    assert quoting_text.quote == "Q3 营收" and quoting_text.attachments == ()
    assert quoting_picture.quote == ""
    assert quoting_picture.attachments == (Attachment(PICTURE, URL, quoted=True),)


def test_pictures_beyond_what_is_ever_shown_are_not_recorded():
    items = [{"msgtype": "image", "image": {"url": f"{URL}{n}"}} for n in range(50)]
    message = parsed(msgtype="mixed", mixed={"msg_item": items})
    assert len(message.attachments) == MAX_PICTURES


@pytest.mark.parametrize(
    "fields",
    [
        {"msgtype": "image", "image": {}},
        {"msgtype": "image", "image": {"url": "file:///etc/passwd"}},
        {"msgtype": "file", "file": {"url": URL, "aeskey": "K" * 100}},
        {"msgtype": "file", "file": {"url": "https://x/" + "a" * 3000}},
        {"msgtype": "text", "text": {"content": "hi"}, "quote": "not an object"},
    ],
)
def test_a_malformed_picture_file_or_quote_is_refused(fields):
    with pytest.raises(CallbackRejected):
        parsed(**fields)
