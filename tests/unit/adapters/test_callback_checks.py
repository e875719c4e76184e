"""The cheap checks before the body: what WeCom may send passes, the replay memory of URL
verifications stays bounded and forgets what the timestamp check refuses anyway."""

from __future__ import annotations

import pytest

from adapters.inbound.callback.callback_checks import ReplayCache, check_content_type
from adapters.inbound.callback.callback_errors import MalformedCallback, ReplayedCallback
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_app.wecom_callback import WeComCallback
from tests.unit.adapters.test_wecom_callback import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    TOKEN,
    RecordingAccept,
    in_process,
    text_callback,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "content_type",
    [
        None, "", "text/xml", "application/xml", "text/xml; charset=utf-8", "TEXT/XML",
        "application/atom+xml", "text/plain", "application/octet-stream",
        "application/x-www-form-urlencoded",
    ],
)
def test_what_wecom_could_send_is_accepted(content_type):
    check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=x", "application/json", "application/problem+json",
        "image/png", "video/mp4", "Application/JSON; charset=utf-8",
    ],
)
def test_types_that_cannot_be_xml_are_refused(content_type):
    with pytest.raises(MalformedCallback):
        check_content_type(content_type)


def test_a_verification_is_answered_once():
    cache = ReplayCache(max_skew_seconds=300, clock=Clock())
    cache.check_first_use("a" * 40, "1700000000", "1")
    with pytest.raises(ReplayedCallback) as refused:
        cache.check_first_use("a" * 40, "1700000000", "1")
    assert refused.value.status == 403
    cache.check_first_use("a" * 40, "1700000000", "2")  # another nonce is another request


def test_entries_are_forgotten_once_their_timestamp_could_no_longer_pass():
    clock = Clock()
    cache = ReplayCache(max_skew_seconds=300, clock=clock)
    cache.check_first_use("a" * 40, "1", "1")
    clock.now += 599
    with pytest.raises(ReplayedCallback):
        cache.check_first_use("a" * 40, "1", "1")
    clock.now += 2
    cache.check_first_use("b" * 40, "2", "2")
    assert len(cache) == 1


def test_a_flood_of_verifications_keeps_memory_bounded():
    cache = ReplayCache(max_skew_seconds=0, max_entries=100, clock=Clock())
    for i in range(10_000):
        cache.check_first_use(f"{i:040x}", "1", str(i))
    assert len(cache) == 100


@pytest.mark.parametrize("content_type", [None, "text/xml", "application/xml; charset=utf-8"])
async def test_a_real_callback_is_accepted_whatever_xml_type_it_declares(content_type):
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    accept = RecordingAccept()
    params, body = text_callback(crypto)
    headers = {"content-type": content_type} if content_type else {}
    async with in_process(WeComCallback(crypto, accept, AGENT_ID, max_skew_seconds=300)) as c:
        response = await c.post("/wework_callback", params=params, content=body, headers=headers)
    assert response.status_code == 200
    assert [m.content for m in accept.messages] == ["你好"]
