"""WeComGateway contract, run against the fake and against HttpxWeComGateway talking to the
WeCom emulator over real HTTP on 127.0.0.1; then what only the real adapter has to get right:
the access token's life, retries, operator-facing reasons, and secrets kept out of sight, for
messages and for group chats, images, media and names."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from adapters.outbound.wecom.httpx_wecom_gateway import HttpxWeComGateway
from application.ports.wecom import DeliveryError, Member, Recipients, WeComGateway
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.token_cache import InMemoryAccessTokenCache
from tests.fakes.wecom import FakeWeComGateway
from tests.support.live_server import free_port, serve
from wecom_emulator import (
    CHAT_GET,
    CHAT_SEND,
    GETTOKEN,
    MEDIA_GET,
    SEND,
    UPLOAD,
    USER_GET,
    WeComEmulator,
)

MEMBERS = ("alice", "bob")
OUTSIDER = "ghost"  # not a member: every gateway under contract must refuse delivery to them
WRONG_SECRET = "wrong-secret-0a1b2c3d4e5f6a7b8c9d"
CHAT, UNKNOWN_CHAT = "wrkchat-dev", "wrkchat-gone"
CHATS = {CHAT: "研发群 R&D"}
NAMES = {"alice": "张三", "bob": "Bob Li"}
# Alice is in departments 2 (her main one) and 3, Bob in 3.
DEPARTMENTS = {2: ["alice"], 3: ["alice", "bob"]}
VOICE_ID = "voice-media-1"
VOICE = (Path(__file__).parents[1] / "data" / "voice_hello.amr").read_bytes()


def image_bytes(size: tuple[int, int] = (40, 30), fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 60, 20)).save(out, fmt)
    return out.getvalue()


PNG = image_bytes()

Delivered = Callable[[str], list[str]]


class WeComGatewayContract:
    """Subclasses provide `gateway` (whose WeCom knows MEMBERS, not OUTSIDER, the chats CHATS,
    the member NAMES and the voice VOICE_ID), `delivered`, which tells what text a member or a
    chat has received so far, `markdown_delivered`, those of it that came as markdown, and
    `images_delivered`, the media_ids a member or chat got."""

    @pytest.fixture
    def gateway(self) -> WeComGateway:
        raise NotImplementedError

    @pytest.fixture
    def delivered(self) -> Delivered:
        raise NotImplementedError

    @pytest.fixture
    def images_delivered(self) -> Delivered:
        raise NotImplementedError

    async def test_the_recipient_gets_the_text_and_a_msgid_comes_back(self, gateway, delivered):
        text = '你好 👋\nsecond line, with <xml> & "quotes"'

        msgid = await gateway.send_text("alice", text)

        assert isinstance(msgid, str) and msgid
        assert delivered("alice") == [text]
        assert delivered("bob") == []

    async def test_messages_arrive_in_order_each_with_its_own_msgid(self, gateway, delivered):
        msgids = [await gateway.send_text("bob", f"part {n}") for n in range(3)]

        assert delivered("bob") == ["part 0", "part 1", "part 2"]
        assert len(set(msgids)) == 3

    async def test_a_recipient_outside_the_app_is_a_permanent_failure(self, gateway, delivered):
        with pytest.raises(DeliveryError) as raised:
            await gateway.send_text(OUTSIDER, "hello?")

        assert raised.value.permanent
        assert raised.value.reason
        assert delivered(OUTSIDER) == []
        await gateway.send_text("alice", "still working")
        assert delivered("alice") == ["still working"]

    async def test_a_group_chat_gets_the_text(self, gateway, delivered):
        text = "大家好 <b>&amp;\n第二行"

        msgid = await gateway.send_chat_text(CHAT, text)

        assert isinstance(msgid, str)
        assert delivered(CHAT) == [text]
        assert delivered("alice") == []

    async def test_markdown_reaches_a_member_and_a_chat_as_markdown(
        self, gateway, delivered, markdown_delivered
    ):
        text = "**要点**\n- 一\n- 二\n```python\nprint('<b>')\n```"

        await gateway.send_markdown("alice", text)
        await gateway.send_chat_markdown(CHAT, text)
        await gateway.send_text("alice", "plain")

        assert markdown_delivered("alice") == [text] and markdown_delivered(CHAT) == [text]
        assert delivered("alice") == [text, "plain"]

    async def test_a_chat_that_does_not_exist_is_a_permanent_failure(self, gateway, delivered):
        with pytest.raises(DeliveryError) as raised:
            await gateway.send_chat_text(UNKNOWN_CHAT, "anyone?")

        assert raised.value.permanent and raised.value.reason
        assert delivered(UNKNOWN_CHAT) == []

    async def test_an_uploaded_image_reaches_a_member_and_a_chat(self, gateway, images_delivered):
        media_id = await gateway.upload_image(PNG, "drawing.png")

        await gateway.send_image("alice", media_id)
        await gateway.send_chat_image(CHAT, media_id)

        assert images_delivered("alice") == [media_id]
        assert images_delivered(CHAT) == [media_id]
        assert await gateway.download_media(media_id) == PNG

    @pytest.mark.parametrize("data", [b"", b"\x89PNG", b"plain text, not a picture"])
    async def test_what_is_not_an_image_is_refused_for_good(self, gateway, data):
        with pytest.raises(DeliveryError) as raised:
            await gateway.upload_image(data, "drawing.png")

        assert raised.value.permanent and raised.value.reason

    async def test_an_image_nobody_uploaded_cannot_be_sent(self, gateway, images_delivered):
        with pytest.raises(DeliveryError) as raised:
            await gateway.send_image("alice", "never-uploaded")

        assert raised.value.permanent
        assert images_delivered("alice") == []

    async def test_a_voice_message_is_downloaded_byte_for_byte(self, gateway):
        assert await gateway.download_media(VOICE_ID) == VOICE

    async def test_an_unknown_or_expired_media_id_is_a_permanent_failure(self, gateway):
        with pytest.raises(DeliveryError) as raised:
            await gateway.download_media("expired-three-days-ago")

        assert raised.value.permanent and raised.value.reason

    async def test_a_message_sent_first_reaches_members_and_reports_those_it_cannot(
        self, gateway, delivered
    ):
        recipients = Recipients(users=("alice", OUTSIDER), departments=(3,))
        report = await gateway.send_to(recipients, "markdown", "**周五** 全员会")

        assert report.reached_anyone and report.msgid
        assert report.invalid_users == (OUTSIDER,)
        assert "**周五** 全员会" in delivered("alice")

    async def test_a_message_sent_first_to_nobody_valid_says_so_per_recipient(self, gateway):
        report = await gateway.send_to(Recipients(users=(OUTSIDER,)), "text", "hi")
        assert (report.reached_anyone, report.invalid_users) == (False, (OUTSIDER,))

    async def test_chats_and_members_the_app_knows_have_their_names(self, gateway):
        assert await gateway.chat_name(CHAT) == CHATS[CHAT]
        assert await gateway.member("alice") == Member(NAMES["alice"], (2, 3))
        assert await gateway.member("bob") == Member(NAMES["bob"], (3,))

    async def test_a_chat_or_member_the_app_does_not_know_has_no_name(self, gateway):
        assert await gateway.chat_name(UNKNOWN_CHAT) is None
        assert await gateway.member(OUTSIDER) is None


class TestFakeWeComGateway(WeComGatewayContract):
    @pytest.fixture
    def gateway(self) -> FakeWeComGateway:
        return FakeWeComGateway(
            invalid_users={OUTSIDER}, chats=CHATS, names=NAMES, media={VOICE_ID: VOICE},
            departments={"alice": (2, 3), "bob": (3,)},
        )

    @pytest.fixture
    def delivered(self, gateway) -> Delivered:
        def delivered(recipient: str) -> list[str]:
            return [text for to, text in gateway.sent + gateway.chat_sent if to == recipient]

        return delivered

    @pytest.fixture
    def markdown_delivered(self, gateway) -> Delivered:
        return lambda recipient: [text for to, text in gateway.markdown_sent if to == recipient]

    @pytest.fixture
    def images_delivered(self, gateway) -> Delivered:
        def images_delivered(recipient: str) -> list[str]:
            images = gateway.images_sent + gateway.chat_images_sent
            return [media_id for to, media_id in images if to == recipient]

        return images_delivered


@pytest.fixture
def wecom() -> WeComEmulator:
    return WeComEmulator(
        known_users=MEMBERS, chats=CHATS, names=NAMES, departments=DEPARTMENTS,
        media={VOICE_ID: VOICE},
    )


@pytest.fixture
def base_url(wecom) -> Iterator[str]:
    with serve(wecom.app) as url:
        yield url


@pytest.fixture
def token_cache() -> InMemoryAccessTokenCache:
    return InMemoryAccessTokenCache()


@pytest.fixture
def leases() -> InMemoryLeaseStore:
    return InMemoryLeaseStore()


@pytest.fixture
def make_gateway(
    client, base_url, wecom, token_cache, leases
) -> Callable[..., HttpxWeComGateway]:
    owners = itertools.count(1)

    def make(**overrides) -> HttpxWeComGateway:
        # Each gateway stands for one process: its own owner name, the shared cache and leases.
        arguments = dict(
            client=client,
            api_base_url=base_url,
            corp_id=wecom.corp_id,
            corp_secret=wecom.corp_secret,
            agent_id=wecom.agent_id,
            token_cache=token_cache,
            leases=leases,
            owner=f"process-{next(owners)}",
            retry_initial_wait=0.001,
            retry_max_wait=0.01,
        )
        return HttpxWeComGateway(**(arguments | overrides))

    return make


def _secrets(wecom: WeComEmulator) -> list[str]:
    return [wecom.corp_secret, WRONG_SECRET, *wecom.issued_tokens]


def assert_secret_free(error: DeliveryError, wecom: WeComEmulator) -> None:
    """Neither the reason, nor a printed traceback, nor an error chained to it may show a
    secret, a token, or the request URL's query (the base URL and path may be named). Error
    reporters render chained httpx errors with their request, whose URL holds the secret or
    the token."""
    shown = [repr(error), error.reason, "".join(traceback.format_exception(error))]
    chained: BaseException | None = error
    while chained is not None:
        # httpx raises RuntimeError for an error created without a request.
        with contextlib.suppress(AttributeError, RuntimeError):
            shown.append(str(chained.request.url))  # type: ignore[attr-defined]
        chained = chained.__cause__ or chained.__context__
    shown = "\n".join(shown)
    for secret in _secrets(wecom):
        assert secret not in shown
    for url_part in ("corpsecret=", "access_token="):
        assert url_part not in shown
    assert re.search(r"/cgi-bin/[\w/]+\?", shown) is None


@pytest.fixture
def secret_free_logs(caplog, wecom) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    formatter = logging.Formatter()
    # httpx logs every request URL at INFO level (the logging setup must keep the "httpx"
    # logger at WARNING), and uvicorn's records belong to the emulator's side of the wire.
    records = caplog.get_records("setup") + caplog.get_records("call")
    ours = [r for r in records if not r.name.startswith(("httpx", "uvicorn"))]
    assert ours, "nothing was logged, so nothing was checked"
    for record in ours:
        line = formatter.format(record)
        for secret in _secrets(wecom):
            assert secret not in line, f"secret leaked in log record of {record.name}"


@pytest.mark.usefixtures("secret_free_logs")
class TestHttpxWeComGatewayContract(WeComGatewayContract):
    @pytest.fixture
    def gateway(self, make_gateway) -> HttpxWeComGateway:
        return make_gateway()

    @pytest.fixture
    def delivered(self, wecom) -> Delivered:
        return lambda recipient: wecom.contents_for(recipient) + wecom.chat_contents(recipient)

    @pytest.fixture
    def markdown_delivered(self, wecom) -> Delivered:
        return lambda recipient: [
            m.content for m in wecom.sent + wecom.chat_sent
            if m.msgtype == "markdown" and recipient in (m.touser, m.chatid)
        ]

    @pytest.fixture
    def images_delivered(self, wecom) -> Delivered:
        return lambda recipient: wecom.images_for(recipient) + wecom.chat_images(recipient)


@pytest.mark.usefixtures("secret_free_logs")
class TestHttpxWeComGateway:
    async def test_sends_the_app_s_agentid_as_a_number(self, make_gateway, wecom):
        await make_gateway().send_text("alice", "hi")

        assert wecom.sent[0].agentid == wecom.agent_id

    async def test_a_message_to_departments_and_tags_reports_those_wecom_does_not_know(
        self, make_gateway, wecom
    ):
        recipients = Recipients(users=("alice",), departments=(3, 99), tags=(7,))
        report = await make_gateway().send_to(recipients, "text", "通知")

        assert (report.invalid_departments, report.invalid_tags) == ((99,), (7,))
        assert wecom.contents_for("bob") == ["通知"]  # through department 3
        assert wecom.contents_for("alice") == ["通知"]  # once, though named twice

    async def test_one_token_serves_many_sends(self, make_gateway, wecom):
        gateway = make_gateway()
        for n in range(5):
            await gateway.send_text("alice", f"message {n}")

        assert wecom.gettoken_calls == 1
        assert len(wecom.contents_for("alice")) == 5

    async def test_a_restarted_or_second_process_reuses_the_shared_token(
        self, make_gateway, wecom
    ):
        await make_gateway().send_text("alice", "from the first process")
        await make_gateway().send_text("bob", "from the second process")
        assert wecom.gettoken_calls == 1

        await make_gateway(token_cache=InMemoryAccessTokenCache()).send_text("bob", "unshared")
        assert wecom.gettoken_calls == 2

    async def test_the_cache_key_does_not_contain_the_secret(
        self, make_gateway, wecom, token_cache
    ):
        await make_gateway().send_text("alice", "hi")

        [(key, cached)] = token_cache.tokens.items()
        assert wecom.corp_secret not in key
        assert wecom.corp_id in key
        assert cached.value == wecom.issued_tokens[0]

    async def test_a_token_is_kept_to_its_end_and_fetched_once_per_lifetime(
        self, make_gateway, wecom
    ):
        # WeCom answers gettoken with the same token until it has expired, so any fetch
        # before the end is a wasted call; two processes share each token's one fetch.
        wecom.expires_in = 2
        processes = [make_gateway(), make_gateway()]
        sent = 0
        started = time.monotonic()
        while time.monotonic() - started < 4.6:  # three lifetimes begun
            await processes[sent % 2].send_text("alice", f"m{sent}")
            sent += 1
            await asyncio.sleep(0.05)

        assert wecom.gettoken_calls == 3
        assert len(wecom.contents_for("alice")) == sent
        # A send in the instant between WeCom's end of a token and ours (the gettoken
        # answer's way back) is rejected and sent again with the new token: never more.
        assert wecom.send_attempts <= sent + 2

    async def test_a_token_another_client_fetched_is_learnt_with_one_more_call(
        self, make_gateway, wecom
    ):
        wecom.expires_in = 3
        wecom.tokens.fetch(wecom.corp_id, wecom.corp_secret, wecom.expires_in)
        await asyncio.sleep(0.5)  # expires_in says 2 s, rounded down from 2.5 s
        gateway = make_gateway()
        started = time.monotonic()
        while time.monotonic() - started < 3.0:
            await gateway.send_text("alice", "hi")
            await asyncio.sleep(0.05)

        # The first fetch; one when our idea of its end comes, answered with the same token
        # and "0 s left"; one after its end, answered with a new token.
        assert wecom.gettoken_calls == 3
        assert len(set(wecom.issued_tokens)) == 2

    @pytest.mark.parametrize("reject", ["expire_tokens", "revoke_tokens"])
    async def test_a_token_rejected_early_is_renewed_once_and_the_message_still_arrives(
        self, make_gateway, wecom, reject
    ):
        gateway = make_gateway()
        await gateway.send_text("alice", "before")
        getattr(wecom, reject)()

        await gateway.send_text("alice", "after")

        assert wecom.gettoken_calls == 2
        assert wecom.send_attempts == 3
        assert wecom.contents_for("alice") == ["before", "after"]

    async def test_a_token_rejected_again_after_renewal_is_not_retried_in_a_loop(
        self, make_gateway, wecom
    ):
        wecom.fail_next(SEND, 40014, times=10)

        with pytest.raises(DeliveryError) as raised:
            await make_gateway().send_text("alice", "hi")

        assert not raised.value.permanent
        assert (wecom.gettoken_calls, wecom.send_attempts) == (2, 2)
        assert_secret_free(raised.value, wecom)

    @pytest.mark.parametrize(
        "inject", [("errcode", -1), ("errcode", 45009), ("errcode", 45033), ("http", 502)]
    )
    async def test_a_transient_failure_is_retried_and_the_message_arrives_once(
        self, make_gateway, wecom, inject
    ):
        kind, code = inject
        if kind == "errcode":
            wecom.fail_next(SEND, code)
        else:
            wecom.fail_next_http(SEND, code)

        await make_gateway().send_text("alice", "hello")

        assert wecom.send_attempts == 2
        assert wecom.contents_for("alice") == ["hello"]

    async def test_a_busy_gettoken_is_retried(self, make_gateway, wecom):
        wecom.fail_next(GETTOKEN, -1)

        await make_gateway().send_text("alice", "hello")

        assert wecom.gettoken_calls == 2
        assert wecom.contents_for("alice") == ["hello"]

    async def test_retries_are_bounded(self, make_gateway, wecom):
        wecom.fail_next(SEND, 45009, times=10)

        with pytest.raises(DeliveryError) as raised:
            await make_gateway(retry_attempts=3).send_text("alice", "hello")

        assert not raised.value.permanent
        assert raised.value.errcode == 45009
        assert wecom.send_attempts == 3
        assert wecom.contents_for("alice") == []

    async def test_an_untrusted_ip_tells_the_operator_what_to_do_and_is_not_retried(
        self, make_gateway, wecom
    ):
        wecom.fail_next(SEND, 60020)

        with pytest.raises(DeliveryError) as raised:
            await make_gateway().send_text("alice", "hello")

        error = raised.value
        assert (error.permanent, error.errcode) == (True, 60020)
        assert "trusted IPs" in error.reason
        assert "from ip: 127.0.0.1" in error.reason  # WeCom's errmsg names the IP to add
        assert wecom.send_attempts == 1
        assert_secret_free(error, wecom)

    async def test_a_wrong_secret_is_permanent_and_says_so(self, make_gateway, wecom):
        with pytest.raises(DeliveryError) as raised:
            await make_gateway(corp_secret=WRONG_SECRET).send_text("alice", "hello")

        error = raised.value
        assert (error.permanent, error.errcode) == (True, 40001)
        assert "corp_secret" in error.reason
        assert (wecom.gettoken_calls, wecom.send_attempts) == (1, 0)
        assert_secret_free(error, wecom)

    async def test_secrets_echoed_in_an_errmsg_are_redacted(self, make_gateway, wecom):
        # A proxy in front of WeCom (api_base_url) may echo the request it refused.
        wecom.fail_next(GETTOKEN, 40001, errmsg=f"refused secret {wecom.corp_secret}")
        gateway = make_gateway()
        with pytest.raises(DeliveryError) as on_gettoken:
            await gateway.send_text("alice", "hello")
        gateway = make_gateway()  # this process remembers the refusal for a while; another asks
        await gateway.send_text("alice", "fetches a token")
        token = wecom.issued_tokens[0]
        wecom.fail_next(SEND, 40003, errmsg=f"refused token {token}")
        with pytest.raises(DeliveryError) as on_send:
            await gateway.send_text("alice", "hello")

        assert "refused secret [redacted]" in on_gettoken.value.reason
        assert "refused token [redacted]" in on_send.value.reason
        assert_secret_free(on_gettoken.value, wecom)
        assert_secret_free(on_send.value, wecom)

    @pytest.mark.parametrize("recipient", ["@all", f"alice|{OUTSIDER}", "", "-alice", "张三"])
    async def test_a_recipient_that_is_not_one_userid_is_never_sent_to(
        self, make_gateway, wecom, recipient
    ):
        with pytest.raises(DeliveryError) as raised:
            await make_gateway().send_text(recipient, "to the whole company?")

        assert raised.value.permanent
        assert wecom.send_attempts == 0

    async def test_concurrent_sends_fetch_one_token(self, make_gateway, wecom):
        gateway = make_gateway()

        await asyncio.gather(*(gateway.send_text("alice", f"m{n}") for n in range(20)))

        assert wecom.gettoken_calls == 1
        assert sorted(wecom.contents_for("alice")) == sorted(f"m{n}" for n in range(20))

    async def test_several_processes_starting_together_fetch_one_token(
        self, make_gateway, wecom
    ):
        wecom.stall_next(GETTOKEN, 0.3)  # the first fetch is slow: the others must wait for it
        processes = [make_gateway() for _ in range(4)]

        await asyncio.gather(*(p.send_text("alice", f"from {i}") for i, p in enumerate(processes)))

        assert wecom.gettoken_calls == 1
        assert len(wecom.contents_for("alice")) == 4

    async def test_a_refused_gettoken_is_not_asked_again_for_every_message(
        self, make_gateway, wecom
    ):
        gateway = make_gateway(corp_secret=WRONG_SECRET)
        for n in range(5):
            with pytest.raises(DeliveryError) as raised:
                await gateway.send_text("alice", f"m{n}")
            assert (raised.value.permanent, raised.value.errcode) == (True, 40001)
        assert wecom.gettoken_calls == 1

    async def test_concurrent_senders_hit_by_one_expiry_fetch_one_new_token(
        self, make_gateway, wecom
    ):
        gateway = make_gateway()
        await gateway.send_text("alice", "warm up")
        wecom.expire_tokens()

        await asyncio.gather(*(gateway.send_text("bob", f"m{n}") for n in range(20)))

        assert wecom.gettoken_calls == 2
        assert len(wecom.contents_for("bob")) == 20

    async def test_a_timeout_is_transient_and_reported_without_the_url(self, make_gateway, wecom):
        wecom.stall_next(SEND, 1.0, times=2)

        async with httpx.AsyncClient(timeout=0.3) as impatient:
            with pytest.raises(DeliveryError) as raised:
                await make_gateway(client=impatient, retry_attempts=2).send_text("alice", "hi")

        error = raised.value
        assert (error.permanent, error.errcode) == (False, None)
        assert "Timeout" in error.reason
        assert "/cgi-bin/message/send" in error.reason
        assert wecom.send_attempts == 2
        assert_secret_free(error, wecom)

    async def test_an_unreachable_wecom_is_transient_and_names_the_base_url_tried(
        self, make_gateway, wecom
    ):
        port = free_port()

        with pytest.raises(DeliveryError) as raised:
            # A proxy's credentials in the URL are not shown.
            proxy = f"http://user:proxy-password@127.0.0.1:{port}"
            await make_gateway(api_base_url=proxy).send_text("alice", "hi")

        assert not raised.value.permanent
        assert raised.value.reason.startswith(
            f"could not reach WeCom at http://127.0.0.1:{port}/cgi-bin/gettoken (ConnectError); "
            "check services.weworktop.api_base_url"
        )
        assert "proxy-password" not in raised.value.reason
        assert_secret_free(raised.value, wecom)

    async def test_a_wrong_api_base_url_is_permanent_and_says_so(self, make_gateway, wecom):
        wecom.fail_next_http(SEND, 404)
        with pytest.raises(DeliveryError) as not_found:
            await make_gateway().send_text("alice", "hi")
        with pytest.raises(DeliveryError) as not_http:
            await make_gateway(api_base_url="ftp://127.0.0.1").send_text("alice", "hi")

        for raised in (not_found, not_http):
            assert raised.value.permanent
            assert "api_base_url" in raised.value.reason
            assert_secret_free(raised.value, wecom)
        assert wecom.send_attempts == 1

    async def test_repr_shows_no_secret(self, make_gateway, wecom):
        gateway = make_gateway()
        await gateway.send_text("alice", "hi")

        for secret in _secrets(wecom):
            assert secret not in repr(gateway)


def noise_png(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress: its size in bytes is about 3 x its pixels."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(
        out, "PNG", compress_level=0
    )
    return out.getvalue()


# One of each way the new calls travel: a GET of JSON, a GET of media, a multipart POST.
CALLS_BY_ENDPOINT = {
    CHAT_GET: lambda gateway: gateway.chat_name(CHAT),
    MEDIA_GET: lambda gateway: gateway.download_media(VOICE_ID),
    UPLOAD: lambda gateway: gateway.upload_image(PNG, "drawing.png"),
}


@pytest.mark.usefixtures("secret_free_logs")
class TestHttpxWeComGatewayGroupsAndMedia:
    async def test_an_image_is_uploaded_as_a_plain_named_file_of_its_type(
        self, make_gateway, wecom
    ):
        jpeg = image_bytes(fmt="JPEG")

        await make_gateway().upload_image(jpeg, "猫 cat.photo.jpeg")

        [upload] = wecom.uploads
        assert (upload.filename, upload.content_type, upload.data) == (
            "__cat_photo.jpg",
            "image/jpeg",
            jpeg,
        )

    async def test_an_image_too_large_for_wecom_is_sent_smaller_as_jpeg(
        self, make_gateway, wecom
    ):
        huge = noise_png((2000, 1800))
        assert len(huge) > 10_000_000

        gateway = make_gateway()
        await gateway.send_image("alice", await gateway.upload_image(huge, "huge.png"))

        [upload] = wecom.uploads
        assert upload.content_type == "image/jpeg" and upload.filename == "huge.jpg"
        assert len(upload.data) <= 10_000_000
        with Image.open(io.BytesIO(upload.data)) as sent:
            assert sent.width / sent.height == pytest.approx(2000 / 1800, rel=0.01)
        assert wecom.images_for("alice") == [upload.media_id]

    async def test_a_webp_image_is_sent_as_png(self, make_gateway, wecom):
        await make_gateway().upload_image(image_bytes(fmt="WEBP"), "from-the-model.webp")

        [upload] = wecom.uploads
        assert (upload.filename, upload.content_type) == ("from-the-model.png", "image/png")
        with Image.open(io.BytesIO(upload.data)) as sent:
            assert sent.size == (40, 30)

    @pytest.mark.parametrize("endpoint", CALLS_BY_ENDPOINT)
    async def test_a_token_rejected_early_is_renewed_once_for_every_kind_of_call(
        self, make_gateway, wecom, endpoint
    ):
        gateway = make_gateway()
        await gateway.send_text("alice", "warm up")
        wecom.expire_tokens()

        await CALLS_BY_ENDPOINT[endpoint](gateway)

        assert wecom.gettoken_calls == 2
        assert wecom.calls(endpoint) == 2

    @pytest.mark.parametrize("endpoint", CALLS_BY_ENDPOINT)
    async def test_a_passing_failure_is_retried_for_every_kind_of_call(
        self, make_gateway, wecom, endpoint
    ):
        wecom.fail_next(endpoint, -1)
        wecom.fail_next_http(endpoint, 502)

        await CALLS_BY_ENDPOINT[endpoint](make_gateway())

        assert wecom.calls(endpoint) == 3

    async def test_a_group_send_refused_for_an_operator_reason_says_what_to_do(
        self, make_gateway, wecom
    ):
        wecom.fail_next(CHAT_SEND, 60020)

        with pytest.raises(DeliveryError) as raised:
            await make_gateway().send_chat_text(CHAT, "hello")

        assert (raised.value.permanent, raised.value.errcode) == (True, 60020)
        assert "trusted IPs" in raised.value.reason
        assert wecom.calls(CHAT_SEND) == 1
        assert_secret_free(raised.value, wecom)

    async def test_an_expired_media_id_says_why_and_hides_the_token(self, make_gateway, wecom):
        with pytest.raises(DeliveryError) as raised:
            await make_gateway().download_media("expired")

        assert (raised.value.permanent, raised.value.errcode) == (True, 40007)
        assert "three days" in raised.value.reason
        assert wecom.calls(MEDIA_GET) == 1
        assert_secret_free(raised.value, wecom)

    async def test_a_download_larger_than_the_limit_is_cut_off_and_refused(
        self, make_gateway, wecom
    ):
        wecom.add_media("big", b"#!AMR\n" + bytes(5000))

        with pytest.raises(DeliveryError) as raised:
            await make_gateway(media_max_bytes=1000).download_media("big")

        assert raised.value.permanent
        assert "more than 1,000 bytes" in raised.value.reason
        assert_secret_free(raised.value, wecom)

    @pytest.mark.parametrize("endpoint", [CHAT_GET, USER_GET])
    async def test_a_lookup_wecom_cannot_answer_fails_rather_than_saying_none(
        self, make_gateway, wecom, endpoint
    ):
        wecom.fail_next(endpoint, 45009, times=10)
        gateway = make_gateway(retry_attempts=2)

        with pytest.raises(DeliveryError) as raised:
            await (gateway.chat_name(CHAT) if endpoint == CHAT_GET else gateway.member("bob"))

        assert (raised.value.permanent, raised.value.errcode) == (False, 45009)
        assert wecom.calls(endpoint) == 2
