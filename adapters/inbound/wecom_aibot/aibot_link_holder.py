"""The AI bot's long connection (长连接), held by one process of the deployment at a time.

WeCom keeps one connection per bot and closes the older one when a newer one subscribes, so
every process that serves the bot competes for a lease in the shared store: the holder dials
out and subscribes, the others stand by and take over within `lease_seconds` when it stops
renewing (it died), or at once when it lets go (it stopped). The holder reconnects after a
drop with exponential backoff and jitter; a refused BotID and Secret (853000) is a
configuration error, tried again once a minute; a disconnected_event while the lease is still
ours means another deployment uses this bot, and nothing is tried until the operator acts.

What comes in goes through a bounded queue to the pipeline: a message is recorded before
anything else (one seen before is not recorded twice), feedback on the answer it rates. The
current connection is handed to the link (WebSocketAiBotLink), through which the channel
answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, stop_after_delay, wait_exponential
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI

from adapters.inbound.wecom_aibot.aibot_connection import AiBotConnection
from adapters.inbound.wecom_aibot.aibot_frames import (
    INVALID_BOT,
    SUBSCRIBE,
    FeedbackIn,
    Incoming,
    MessageIn,
    subscribe_body,
)
from adapters.inbound.wecom_aibot.websocket_aibot_link import WebSocketAiBotLink
from application.channels.aibot.record_feedback import Feedback
from application.pipeline.log_context import current_message
from application.ports.aibot_link import CONNECTING, REFUSED, REPLACED, STANDBY, STOPPED
from application.ports.shared_state import LeaseStore
from application.ports.telemetry import Telemetry
from application.ports.wecom import DeliveryError
from domain.messages import InboundMessage

log = logging.getLogger(__name__)
alerts = logging.getLogger("weworktop.operator")

FIRST_RETRY_SECONDS, LONGEST_RETRY_SECONDS = 1.0, 60.0
# A refused BotID/Secret will not fix itself: one attempt a minute notices the fix.
REFUSED_RETRY_SECONDS = 60.0
# The bot's lease runs for this share of lease_seconds and is renewed (or, by a standby,
# looked at) every CHECK_SHARE of it: a standby takes over within lease_seconds.
LEASE_SHARE, CHECK_SHARE = 2 / 3, 1 / 6
# Frames waiting to be recorded; beyond it the link reads no more until the store catches up.
INBOUND_CAPACITY = 256
# WeCom's frames are a few KiB; MAX_FRAME_BYTES (1 MiB) and larger are skipped. Beyond this
# the library ends the connection (and it is dialled again), so memory stays bounded.
WS_MAX_BYTES = 4 << 20
WS_MAX_QUEUE = 4
# Recording a message is retried this long (the store restarting) before it is given up.
RECORD_SECONDS = 30.0

# How one connection ended: never up, up and then lost, refused, handed to another client.
_DROPPED, _LOST, _REFUSED, _REPLACED = "dropped", "lost", "refused", "replaced"

Accept = Callable[[InboundMessage], Awaitable[bool]]
RecordFeedback = Callable[[Feedback], Awaitable[bool]]


def reconnect_delay(failures: int, jitter: float) -> float:
    """1 s, doubling with each failure in a row up to 60 s, spread by `jitter` in [0, 1)."""
    ceiling = min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(failures, 16))
    return ceiling * (0.8 + 0.2 * jitter)


class AiBotLinkHolder:
    def __init__(
        self,
        *,
        link: WebSocketAiBotLink,
        channel: str,
        ws_url: str,
        bot_id: str,
        secret: str,
        heartbeat_seconds: float,
        leases: LeaseStore,
        owner: str,
        lease_seconds: float,
        accept: Accept,
        record_feedback: RecordFeedback,
        telemetry: Telemetry,
        on_up: Callable[[], Awaitable[object]] | None = None,
        jitter: Callable[[], float] = random.random,
        refused_retry_seconds: float = REFUSED_RETRY_SECONDS,
    ):
        self._link = link
        self._channel = channel
        self._url = ws_url
        self._bot_id = bot_id
        self._secret = secret
        self._heartbeat = heartbeat_seconds
        self._leases = leases
        self._owner = owner
        self._lease_name = f"aibot-link:{channel}"
        self._lease_seconds = lease_seconds * LEASE_SHARE
        self._check_every = lease_seconds * CHECK_SHARE
        self._accept = accept
        self._record_feedback = record_feedback
        self._telemetry = telemetry
        self._on_up = on_up
        self._jitter = jitter
        self._refused_retry = refused_retry_seconds
        self._connection: AiBotConnection | None = None
        self._inbound: asyncio.Queue[Incoming] = asyncio.Queue(INBOUND_CAPACITY)
        self._closing = asyncio.Event()
        self._lease_lost = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._connects = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._intake())]

    async def close(self) -> None:
        """Closes the connection cleanly, records what already came in, and lets go of the
        lease, so a standby takes over at once."""
        self._closing.set()
        if self._connection is not None:
            await self._connection.close("the service is stopping")
        if self._tasks:
            await asyncio.wait([self._tasks[0]], timeout=10)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._inbound.join(), RECORD_SECONDS)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._leases.release(self._lease_name, self._owner)
        except Exception as err:
            # Not fatal: the lease runs out on its own; the operator learns why the handover
            # took that long instead of "at once".
            log.warning(
                "AI bot %s: could not let go of the bot's lease (%s); a standby takes it over "
                "within %.0f s", self._channel, type(err).__name__, self._lease_seconds,
            )
        self._link.enter(STOPPED)

    # --- holding the bot ---------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closing.is_set():
            try:
                if self._link.state == REPLACED:
                    # Sticky until a restart: keep the lease, so no standby reconnects either.
                    await self._take_lease()
                    await self._pause(self._check_every)
                elif await self._take_lease():
                    await self._hold()
                else:
                    self._link.enter(STANDBY)
                    await self._pause(self._check_every)
            except Exception:
                log.exception("AI bot %s: the link failed; trying again", self._channel)
                await self._pause(LONGEST_RETRY_SECONDS)

    async def _hold(self) -> None:
        """Serves the bot while this process holds its lease."""
        self._lease_lost.clear()
        keeper = asyncio.create_task(self._keep_lease())
        try:
            failures = 0
            while self._holding():
                outcome = await self._connect_once()
                if outcome == _REPLACED:
                    await self._replaced()
                    return
                if outcome == _REFUSED:
                    await self._pause(self._refused_retry)
                    continue
                if outcome == _LOST:
                    failures = 0  # it was up: start again from the shortest wait
                await self._pause(reconnect_delay(failures, self._jitter()))
                failures += 1
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)

    async def _connect_once(self) -> str:
        if self._link.state != REFUSED:
            self._link.enter(CONNECTING)
        if self._connects:
            self._telemetry.aibot_link_reconnected(self._channel)
        self._connects += 1
        try:
            ws = await connect(
                self._url, max_size=WS_MAX_BYTES, max_queue=WS_MAX_QUEUE, ping_interval=None,
                open_timeout=10, close_timeout=5,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as err:
            self._down(f"could not connect ({type(err).__name__}: {str(err)[:160]})")
            return _DROPPED
        connection = AiBotConnection(
            ws, self._channel, self._inbound.put, self._telemetry, self._heartbeat
        )
        reader = asyncio.create_task(connection.serve())
        self._connection = connection
        try:
            await connection.request(SUBSCRIBE, subscribe_body(self._bot_id, self._secret))
        except DeliveryError as err:
            await connection.close("subscribe failed")
            await reader
            self._connection = None
            if err.errcode == INVALID_BOT:
                self._refused(err.reason)
                return _REFUSED
            self._down(f"subscribe failed: {err.reason}")
            return _DROPPED
        self._link.attach(connection)
        log.info("AI bot %s: connected and subscribed", self._channel)
        await self._announce_up()
        await reader
        self._connection = None
        if connection.replaced:
            self._link.detach(connection.closed_because)
            return _REPLACED
        self._down(connection.closed_because)
        return _LOST

    async def _announce_up(self) -> None:
        if self._on_up is None:
            return
        try:
            await self._on_up()  # answers that waited for the link go now
        except Exception:
            log.exception("could not look for answers waiting for the link")

    async def _replaced(self) -> None:
        if not await self._take_lease():
            log.info("AI bot %s: another process of this deployment took over", self._channel)
            return
        self._link.enter(REPLACED, "another deployment connected with this bot's BotID")
        alerts.error(
            "ACTION NEEDED: AI bot %s: WeCom handed the bot's connection to another client "
            "(disconnected_event). Another deployment uses this BotID: stop it or give it a bot "
            "of its own, then restart this service. Not reconnecting, to keep the two from "
            "taking the bot from each other.",
            self._channel,
        )
        while self._holding():  # the keeper renews the lease meanwhile
            await self._pause(self._check_every)

    def _refused(self, reason: str) -> None:
        first = self._link.state != REFUSED
        self._link.detach(f"WeCom refused the BotID and Secret ({reason})")
        self._link.enter(REFUSED)
        if first:
            alerts.error(
                "ACTION NEEDED: AI bot %s: WeCom refused its bot_id and secret (errcode %d). "
                "Copy both from the bot's page in the WeCom admin console (API mode: long "
                "connection) into config.json or WEWORKTOP_AIBOT_<NAME>_SECRET. Trying again "
                "once a minute.",
                self._channel, INVALID_BOT,
            )
        else:
            log.warning("AI bot %s: bot_id and secret still refused", self._channel)

    def _down(self, why: str) -> None:
        self._link.detach(why)
        level = logging.INFO if self._closing.is_set() else logging.WARNING
        log.log(level, "AI bot %s: the long connection is down: %s", self._channel, why)

    # --- the lease ---------------------------------------------------------------------------

    async def _take_lease(self) -> bool:
        try:
            return await self._leases.acquire(self._lease_name, self._owner, self._lease_seconds)
        except Exception:
            log.exception("could not take or renew the lease of AI bot %s", self._channel)
            return False

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self._check_every)
            if not await self._take_lease():
                log.warning("AI bot %s: lost its lease; standing by", self._channel)
                self._lease_lost.set()
                if self._connection is not None:
                    await self._connection.close("another process holds the bot's lease")
                return

    def _holding(self) -> bool:
        return not (self._closing.is_set() or self._lease_lost.is_set())

    async def _pause(self, seconds: float) -> None:
        """Waits `seconds`, or less when the service stops or the lease is lost."""
        stop = asyncio.ensure_future(self._closing.wait())
        lost = asyncio.ensure_future(self._lease_lost.wait())
        await asyncio.wait([stop, lost], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        lost.cancel()

    # --- what comes in -----------------------------------------------------------------------

    async def _intake(self) -> None:
        while True:
            frame = await self._inbound.get()
            try:
                if isinstance(frame, MessageIn):
                    await self._record(frame.message)
                elif isinstance(frame, FeedbackIn):
                    await self._record_feedback(frame.feedback)
                else:
                    log.debug("AI bot %s: %s needs no answer", self._channel, frame)
            except Exception:
                log.exception("AI bot %s: could not record a frame from WeCom", self._channel)
            finally:
                self._inbound.task_done()

    async def _record(self, message: InboundMessage) -> None:
        current_message.set(message.dedup_key)
        retrying = AsyncRetrying(
            stop=stop_after_delay(RECORD_SECONDS), wait=wait_exponential(0.1, max=5), reraise=True
        )
        async for attempt in retrying:
            with attempt:
                is_new = await self._accept(message)
        if is_new:
            log.debug("accepted %s (%s)", message.dedup_key, message.msg_type)
        else:
            log.info("%s delivered again (after a reconnect); answered once", message.dedup_key)
