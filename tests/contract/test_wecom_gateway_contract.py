"""WeComGateway contract, run against the fake and against HttpxWeComGateway talking to the
WeCom stand-in over real HTTP on 127.0.0.1; then what only the real adapter has to get right:
the access token's life, retries, operator-facing reasons, and secrets kept out of sight."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import traceback
from collections.abc import Callable, Iterator

import httpx
import pytest

from adapters.outbound.httpx_wecom_gateway import HttpxWeComGateway
from application.ports import DeliveryError, WeComGateway
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.token_cache import InMemoryAccessTokenCache
from tests.fakes.wecom import FakeWeComGateway
from tests.standins.wecom_standin import GETTOKEN, SEND, WeComStandIn
from tests.support.live_server import free_port, serve

MEMBERS = ("alice", "bob")
OUTSIDER = "ghost"  # not a member: every gateway under contract must refuse delivery to them
WRONG_SECRET = "wrong-secret-0a1b2c3d4e5f6a7b8c9d"

Delivered = Callable[[str], list[str]]


class WeComGatewayContract:
    """Subclasses provide `gateway` (whose WeCom knows MEMBERS, not OUTSIDER) and `delivered`,
    which tells what a recipient has received so far."""

    @pytest.fixture
    def gateway(self) -> WeComGateway:
        raise NotImplementedError

    @pytest.fixture
    def delivered(self) -> Delivered:
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


class TestFakeWeComGateway(WeComGatewayContract):
    @pytest.fixture
    def gateway(self) -> FakeWeComGateway:
        return FakeWeComGateway(invalid_users={OUTSIDER})

    @pytest.fixture
    def delivered(self, gateway) -> Delivered:
        return lambda user: [content for to, content in gateway.sent if to == user]


@pytest.fixture
def standin() -> WeComStandIn:
    return WeComStandIn(known_users=MEMBERS)


@pytest.fixture
def base_url(standin) -> Iterator[str]:
    with serve(standin.app) as url:
        yield url


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def token_cache() -> InMemoryAccessTokenCache:
    return InMemoryAccessTokenCache()


@pytest.fixture
def leases() -> InMemoryLeaseStore:
    return InMemoryLeaseStore()


@pytest.fixture
def make_gateway(
    client, base_url, standin, token_cache, leases
) -> Callable[..., HttpxWeComGateway]:
    owners = itertools.count(1)

    def make(**overrides) -> HttpxWeComGateway:
        # Each gateway stands for one process: its own owner name, the shared cache and leases.
        arguments = dict(
            client=client,
            api_base_url=base_url,
            corp_id=standin.corp_id,
            corp_secret=standin.corp_secret,
            agent_id=standin.agent_id,
            token_cache=token_cache,
            leases=leases,
            owner=f"process-{next(owners)}",
            retry_initial_wait=0.001,
            retry_max_wait=0.01,
        )
        return HttpxWeComGateway(**(arguments | overrides))

    return make


def _secrets(standin: WeComStandIn) -> list[str]:
    return [standin.corp_secret, WRONG_SECRET, *standin.issued_tokens]


def assert_secret_free(error: DeliveryError, standin: WeComStandIn) -> None:
    """Neither the reason, nor a printed traceback, nor an error chained to it may show a
    secret, a token, or the request URL. Error reporters render chained httpx errors with
    their request, whose URL holds the secret or the token."""
    shown = [repr(error), error.reason, "".join(traceback.format_exception(error))]
    chained: BaseException | None = error
    while chained is not None:
        # httpx raises RuntimeError for an error created without a request.
        with contextlib.suppress(AttributeError, RuntimeError):
            shown.append(str(chained.request.url))  # type: ignore[attr-defined]
        chained = chained.__cause__ or chained.__context__
    shown = "\n".join(shown)
    for secret in _secrets(standin):
        assert secret not in shown
    for url_part in ("corpsecret=", "access_token=", "127.0.0.1:"):
        assert url_part not in shown


@pytest.fixture
def secret_free_logs(caplog, standin) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    formatter = logging.Formatter()
    # httpx logs every request URL at INFO level (the logging setup must keep the "httpx"
    # logger at WARNING), and uvicorn's records belong to the stand-in's side of the wire.
    records = caplog.get_records("setup") + caplog.get_records("call")
    ours = [r for r in records if not r.name.startswith(("httpx", "uvicorn"))]
    assert ours, "nothing was logged, so nothing was checked"
    for record in ours:
        line = formatter.format(record)
        for secret in _secrets(standin):
            assert secret not in line, f"secret leaked in log record of {record.name}"


@pytest.mark.usefixtures("secret_free_logs")
class TestHttpxWeComGatewayContract(WeComGatewayContract):
    @pytest.fixture
    def gateway(self, make_gateway) -> HttpxWeComGateway:
        return make_gateway()

    @pytest.fixture
    def delivered(self, standin) -> Delivered:
        return standin.contents_for


@pytest.mark.usefixtures("secret_free_logs")
class TestHttpxWeComGateway:
    async def test_sends_the_app_s_agentid_as_a_number(self, make_gateway, standin):
        await make_gateway().send_text("alice", "hi")

        assert standin.sent[0].agentid == standin.agent_id

    async def test_one_token_serves_many_sends(self, make_gateway, standin):
        gateway = make_gateway()
        for n in range(5):
            await gateway.send_text("alice", f"message {n}")

        assert standin.gettoken_calls == 1
        assert len(standin.contents_for("alice")) == 5

    async def test_a_restarted_or_second_process_reuses_the_shared_token(
        self, make_gateway, standin
    ):
        await make_gateway().send_text("alice", "from the first process")
        await make_gateway().send_text("bob", "from the second process")
        assert standin.gettoken_calls == 1

        await make_gateway(token_cache=InMemoryAccessTokenCache()).send_text("bob", "unshared")
        assert standin.gettoken_calls == 2

    async def test_the_cache_key_does_not_contain_the_secret(
        self, make_gateway, standin, token_cache
    ):
        await make_gateway().send_text("alice", "hi")

        [(key, cached)] = token_cache.tokens.items()
        assert standin.corp_secret not in key
        assert standin.corp_id in key
        assert cached.value == standin.issued_tokens[0]

    async def test_the_token_is_renewed_shortly_before_it_expires(self, make_gateway, standin):
        now = [1_000_000.0]
        gateway = make_gateway(clock=lambda: now[0], refresh_margin_seconds=300)
        await gateway.send_text("alice", "first")

        now[0] += standin.expires_in - 301
        await gateway.send_text("alice", "still fresh")
        assert standin.gettoken_calls == 1

        now[0] += 2
        await gateway.send_text("alice", "inside the margin")
        assert standin.gettoken_calls == 2
        assert len(standin.contents_for("alice")) == 3

    async def test_a_short_lived_token_is_still_reused_for_most_of_its_life(
        self, make_gateway, standin
    ):
        standin.expires_in = 60  # shorter than the 300 s margin: renew at 45 s, not at once
        now = [1_000_000.0]
        gateway = make_gateway(clock=lambda: now[0], refresh_margin_seconds=300)
        for _ in range(5):
            await gateway.send_text("alice", "hi")
            now[0] += 8
        assert standin.gettoken_calls == 1
        now[0] += 10
        await gateway.send_text("alice", "past three quarters of its life")
        assert standin.gettoken_calls == 2

    @pytest.mark.parametrize("reject", ["expire_tokens", "revoke_tokens"])
    async def test_a_token_rejected_early_is_renewed_once_and_the_message_still_arrives(
        self, make_gateway, standin, reject
    ):
        gateway = make_gateway()
        await gateway.send_text("alice", "before")
        getattr(standin, reject)()

        await gateway.send_text("alice", "after")

        assert standin.gettoken_calls == 2
        assert standin.send_attempts == 3
        assert standin.contents_for("alice") == ["before", "after"]

    async def test_a_token_rejected_again_after_renewal_is_not_retried_in_a_loop(
        self, make_gateway, standin
    ):
        standin.fail_next(SEND, 40014, times=10)

        with pytest.raises(DeliveryError) as raised:
            await make_gateway().send_text("alice", "hi")

        assert not raised.value.permanent
        assert (standin.gettoken_calls, standin.send_attempts) == (2, 2)
        assert_secret_free(raised.value, standin)

    @pytest.mark.parametrize(
        "inject", [("errcode", -1), ("errcode", 45009), ("errcode", 45033), ("http", 502)]
    )
    async def test_a_transient_failure_is_retried_and_the_message_arrives_once(
        self, make_gateway, standin, inject
    ):
        kind, code = inject
        if kind == "errcode":
            standin.fail_next(SEND, code)
        else:
            standin.fail_next_http(SEND, code)

        await make_gateway().send_text("alice", "hello")

        assert standin.send_attempts == 2
        assert standin.contents_for("alice") == ["hello"]

    async def test_a_busy_gettoken_is_retried(self, make_gateway, standin):
        standin.fail_next(GETTOKEN, -1)

        await make_gateway().send_text("alice", "hello")

        assert standin.gettoken_calls == 2
        assert standin.contents_for("alice") == ["hello"]

    async def test_retries_are_bounded(self, make_gateway, standin):
        standin.fail_next(SEND, 45009, times=10)

        with pytest.raises(DeliveryError) as raised:
            await make_gateway(retry_attempts=3).send_text("alice", "hello")

        assert not raised.value.permanent
        assert raised.value.errcode == 45009
        assert standin.send_attempts == 3
        assert standin.contents_for("alice") == []

    async def test_an_untrusted_ip_tells_the_operator_what_to_do_and_is_not_retried(
        self, make_gateway, standin
    ):
        standin.fail_next(SEND, 60020)

        with pytest.raises(DeliveryError) as raised:
            await make_gateway().send_text("alice", "hello")

        error = raised.value
        assert (error.permanent, error.errcode) == (True, 60020)
        assert "trusted IPs" in error.reason
        assert "from ip: 127.0.0.1" in error.reason  # WeCom's errmsg names the IP to add
        assert standin.send_attempts == 1
        assert_secret_free(error, standin)

    async def test_a_wrong_secret_is_permanent_and_says_so(self, make_gateway, standin):
        with pytest.raises(DeliveryError) as raised:
            await make_gateway(corp_secret=WRONG_SECRET).send_text("alice", "hello")

        error = raised.value
        assert (error.permanent, error.errcode) == (True, 40001)
        assert "corp_secret" in error.reason
        assert (standin.gettoken_calls, standin.send_attempts) == (1, 0)
        assert_secret_free(error, standin)

    async def test_secrets_echoed_in_an_errmsg_are_redacted(self, make_gateway, standin):
        # A proxy in front of WeCom (api_base_url) may echo the request it refused.
        standin.fail_next(GETTOKEN, 40001, errmsg=f"refused secret {standin.corp_secret}")
        gateway = make_gateway()
        with pytest.raises(DeliveryError) as on_gettoken:
            await gateway.send_text("alice", "hello")
        gateway = make_gateway()  # this process remembers the refusal for a while; another asks
        await gateway.send_text("alice", "fetches a token")
        token = standin.issued_tokens[0]
        standin.fail_next(SEND, 40003, errmsg=f"refused token {token}")
        with pytest.raises(DeliveryError) as on_send:
            await gateway.send_text("alice", "hello")

        assert "refused secret [redacted]" in on_gettoken.value.reason
        assert "refused token [redacted]" in on_send.value.reason
        assert_secret_free(on_gettoken.value, standin)
        assert_secret_free(on_send.value, standin)

    async def test_a_recipient_listed_in_invaliduser_is_a_permanent_failure(
        self, make_gateway, standin
    ):
        with pytest.raises(DeliveryError) as raised:
            await make_gateway().send_text(f"alice|{OUTSIDER}", "hello")

        assert raised.value.permanent
        assert OUTSIDER in raised.value.reason
        assert standin.send_attempts == 1

    async def test_concurrent_sends_fetch_one_token(self, make_gateway, standin):
        gateway = make_gateway()

        await asyncio.gather(*(gateway.send_text("alice", f"m{n}") for n in range(20)))

        assert standin.gettoken_calls == 1
        assert sorted(standin.contents_for("alice")) == sorted(f"m{n}" for n in range(20))

    async def test_several_processes_starting_together_fetch_one_token(
        self, make_gateway, standin
    ):
        standin.stall_next(GETTOKEN, 0.3)  # the first fetch is slow: the others must wait for it
        processes = [make_gateway() for _ in range(4)]

        await asyncio.gather(*(p.send_text("alice", f"from {i}") for i, p in enumerate(processes)))

        assert standin.gettoken_calls == 1
        assert len(standin.contents_for("alice")) == 4

    async def test_a_refused_gettoken_is_not_asked_again_for_every_message(
        self, make_gateway, standin
    ):
        gateway = make_gateway(corp_secret=WRONG_SECRET)
        for n in range(5):
            with pytest.raises(DeliveryError) as raised:
                await gateway.send_text("alice", f"m{n}")
            assert (raised.value.permanent, raised.value.errcode) == (True, 40001)
        assert standin.gettoken_calls == 1

    async def test_concurrent_senders_hit_by_one_expiry_fetch_one_new_token(
        self, make_gateway, standin
    ):
        gateway = make_gateway()
        await gateway.send_text("alice", "warm up")
        standin.expire_tokens()

        await asyncio.gather(*(gateway.send_text("bob", f"m{n}") for n in range(20)))

        assert standin.gettoken_calls == 2
        assert len(standin.contents_for("bob")) == 20

    async def test_a_timeout_is_transient_and_reported_without_the_url(self, make_gateway, standin):
        standin.stall_next(SEND, 1.0, times=2)

        async with httpx.AsyncClient(timeout=0.3) as impatient:
            with pytest.raises(DeliveryError) as raised:
                await make_gateway(client=impatient, retry_attempts=2).send_text("alice", "hi")

        error = raised.value
        assert (error.permanent, error.errcode) == (False, None)
        assert "Timeout" in error.reason
        assert "/cgi-bin/message/send" in error.reason
        assert standin.send_attempts == 2
        assert_secret_free(error, standin)

    async def test_an_unreachable_wecom_is_transient_and_reported_without_the_url(
        self, make_gateway, standin
    ):
        nobody_listens = f"http://127.0.0.1:{free_port()}"

        with pytest.raises(DeliveryError) as raised:
            await make_gateway(api_base_url=nobody_listens).send_text("alice", "hi")

        assert not raised.value.permanent
        assert "ConnectError" in raised.value.reason
        assert_secret_free(raised.value, standin)

    async def test_a_wrong_api_base_url_is_permanent_and_says_so(self, make_gateway, standin):
        standin.fail_next_http(SEND, 404)
        with pytest.raises(DeliveryError) as not_found:
            await make_gateway().send_text("alice", "hi")
        with pytest.raises(DeliveryError) as not_http:
            await make_gateway(api_base_url="ftp://127.0.0.1").send_text("alice", "hi")

        for raised in (not_found, not_http):
            assert raised.value.permanent
            assert "api_base_url" in raised.value.reason
            assert_secret_free(raised.value, standin)
        assert standin.send_attempts == 1

    async def test_repr_shows_no_secret(self, make_gateway, standin):
        gateway = make_gateway()
        await gateway.send_text("alice", "hi")

        for secret in _secrets(standin):
            assert secret not in repr(gateway)
