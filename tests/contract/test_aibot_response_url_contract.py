"""What every AiBotResponseUrl promises, run against the fake and the httpx adapter posting to
a local stand-in of WeCom's response_url; then how the httpx adapter tells failures apart
and that it never repeats the URL, which is a credential of its own."""

from __future__ import annotations

import traceback

import httpx
import pytest

from adapters.outbound.wecom.httpx_aibot_response_url import HttpxAiBotResponseUrl
from application.ports.wecom import DeliveryError
from domain.url_origins import TrustedOrigins, response_url_origins
from tests.fakes.aibot import FakeAiBotResponseUrl
from tests.standins.aibot_response_standin import PATH, USED_ERRCODE, AiBotResponseStandIn
from tests.support.live_server import free_port, serve

CODE = "rc-9f8e7d6c5b4a"


class ResponseUrlContract:
    """Subclasses provide `responder`, `url`, `posted()` (the contents that arrived) and
    `refuse_next()`."""

    async def test_a_markdown_message_arrives_once(self, responder, url, posted):
        await responder.post_markdown(url, "**答案**：十点。")
        assert posted() == ["**答案**：十点。"]

    async def test_a_refusal_is_a_delivery_error_and_nothing_arrives(
        self, responder, url, posted, refuse_next
    ):
        refuse_next()
        with pytest.raises(DeliveryError):
            await responder.post_markdown(url, "答案")
        assert posted() == []


class TestFakeAiBotResponseUrl(ResponseUrlContract):
    @pytest.fixture
    def responder(self):
        return FakeAiBotResponseUrl()

    @pytest.fixture
    def url(self):
        return f"https://qyapi.weixin.qq.com{PATH}?response_code={CODE}"

    @pytest.fixture
    def posted(self, responder):
        return lambda: [content for _, content in responder.posts]

    @pytest.fixture
    def refuse_next(self, responder):
        return lambda: responder.fail_next(permanent=True, errcode=USED_ERRCODE)


@pytest.fixture
def standin():
    return AiBotResponseStandIn()


@pytest.fixture
def base_url(standin):
    with serve(standin.app) as served:
        yield served


@pytest.fixture
def url(base_url):
    return f"{base_url}{PATH}?response_code={CODE}"


@pytest.fixture
def responder(client, base_url):
    # The stand-in plays api_base_url, the one origin besides WeCom's a response_url may name.
    return HttpxAiBotResponseUrl(client, response_url_origins(base_url))


class TestHttpxAiBotResponseUrl(ResponseUrlContract):
    @pytest.fixture
    def posted(self, standin):
        return lambda: [p.body["markdown"]["content"] for p in standin.posted]

    @pytest.fixture
    def refuse_next(self, standin):
        return lambda: standin.answer_next(200, {"errcode": 40008, "errmsg": "invalid type"})


async def test_posts_a_markdown_message_to_the_urls_response_code(responder, url, standin):
    await responder.post_markdown(url, "答案")
    [posted] = standin.posted
    assert posted.response_code == CODE
    assert posted.body == {"msgtype": "markdown", "markdown": {"content": "答案"}}


async def test_a_second_use_of_the_same_url_is_refused_for_good(responder, url):
    await responder.post_markdown(url, "答案")
    with pytest.raises(DeliveryError) as caught:
        await responder.post_markdown(url, "again")
    assert caught.value.permanent and caught.value.errcode == USED_ERRCODE


@pytest.mark.parametrize(
    ("status", "answer", "permanent"),
    [
        (200, {"errcode": -1, "errmsg": "system busy"}, False),
        (503, {"errmsg": "unavailable"}, False),
        (429, {}, False),
        (404, {}, True),
        (200, {"errcode": 40008, "errmsg": "invalid message type"}, True),
    ],
)
async def test_busy_or_down_is_worth_another_try_and_a_refusal_is_not(
    responder, url, standin, status, answer, permanent
):
    standin.answer_next(status, answer)
    with pytest.raises(DeliveryError) as caught:
        await responder.post_markdown(url, "答案")
    assert caught.value.permanent is permanent
    assert standin.posted == []


async def test_an_unreachable_url_is_worth_another_try_and_never_named(caplog):
    gone = f"http://127.0.0.1:{free_port()}{PATH}?response_code={CODE}"
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(DeliveryError) as unreachable:
            await HttpxAiBotResponseUrl(client, TrustedOrigins([gone])).post_markdown(gone, "答案")
    assert not unreachable.value.permanent
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("adapters")]
    shown = "".join(traceback.format_exception(unreachable.value)) + "".join(ours)
    assert CODE not in shown and "127.0.0.1" not in shown


async def test_a_url_that_is_not_http_is_refused_without_a_request(responder, standin):
    with pytest.raises(DeliveryError) as caught:
        await responder.post_markdown(f"file:///etc/passwd?response_code={CODE}", "答案")
    assert caught.value.permanent and CODE not in str(caught.value)


@pytest.fixture
def internal():
    """A server on the service's own network that must never be reached through a message."""
    inside = AiBotResponseStandIn()
    inside.answer_next(200, {"errcode": 1, "errmsg": "internal admin: db password is hunter2"})
    with serve(inside.app) as inside_url:
        yield inside, inside_url


async def test_a_response_url_off_the_trusted_origins_is_never_posted_to(responder, internal):
    inside, inside_url = internal
    for url in (
        f"{inside_url}{PATH}?response_code={CODE}",
        f"https://qyapi.weixin.qq.com@{inside_url.removeprefix('http://')}{PATH}",
        f"{inside_url.replace('127.0.0.1', 'localhost')}{PATH}",
    ):
        with pytest.raises(DeliveryError) as caught:
            await responder.post_markdown(url, "答案")
        assert caught.value.permanent
        assert "hunter2" not in caught.value.reason and CODE not in caught.value.reason
    assert inside.posted == []


@pytest.mark.parametrize("url", ["http://host:abc/", "http://[::1", "https:///nohost"])
async def test_a_malformed_response_url_is_a_permanent_delivery_error(responder, url):
    with pytest.raises(DeliveryError) as caught:
        await responder.post_markdown(url, "答案")
    assert caught.value.permanent
    assert caught.value.__cause__ is None and caught.value.__context__ is None


async def test_what_the_other_side_said_is_not_echoed_into_the_reason(responder, url, standin):
    standin.answer_next(200, {"errcode": 40008, "errmsg": "from ip: 203.0.113.5, hint: [x]"})
    with pytest.raises(DeliveryError) as caught:
        await responder.post_markdown(url, "答案")
    assert caught.value.reason == "response_url refused the message: errcode 40008"
