"""The one place that knows every concrete class: configuration in, wired service out.

What every channel shares is here; what each configured app or bot has of its own is in its
channel container (AppChannelContainer, AiBotChannelContainer), built from this one. Tests
override single providers (`container.chat_model.override(...)`) to swap a port; production
and tests wire the service the same way.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import time
from operator import attrgetter

import httpx
from dependency_injector import containers, providers

from adapters.inbound.callback.clock_skew import ClockSkewWatch
from adapters.inbound.health import Readiness
from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.export_api import ExportApi
from adapters.inbound.operator.members_api import MembersApi
from adapters.inbound.operator.operator_api import OperatorPages
from adapters.inbound.operator.send_api import SendApi
from adapters.inbound.operator.usage_api import UsageApi
from adapters.outbound.disk_space import DiskSpaceWatch
from adapters.outbound.media.ffmpeg_audio_converter import FfmpegAudioConverter
from adapters.outbound.media.pillow_picture_reader import PillowPictureReader
from adapters.outbound.media.subprocess_text_extractor import SubprocessTextExtractor
from adapters.outbound.metrics.prometheus_telemetry import PrometheusTelemetry
from adapters.outbound.persistence.sqlalchemy_blob_store import SqlAlchemyBlobStore
from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_event_store import SqlAlchemyEventStore
from adapters.outbound.persistence.sqlalchemy_lease_store import SqlAlchemyLeaseStore
from adapters.outbound.persistence.sqlalchemy_token_cache import SqlAlchemyAccessTokenCache
from adapters.outbound.persistence.sqlite_message_spool import SqliteMessageSpool
from adapters.outbound.pooled_transport import pooled_client
from adapters.outbound.wecom.httpx_aibot_response_url import HttpxAiBotResponseUrl
from adapters.outbound.wecom.httpx_wecom_gateway import HttpxWeComGateway
from adapters.outbound.wecom.wecom_errors import advice
from application.announcements.send_announcement import SendAnnouncement
from application.channels.aibot.stream_board import StreamBoard
from application.operator.erase_member import EraseMember
from application.operator.operator_view import OperatorView
from application.operator.retention import Retention
from application.operator.usage_report import UsageReport
from application.pipeline.admission import Admission
from application.pipeline.channel import Channels
from application.pipeline.conversation_scheduler import ConversationScheduler, SchedulerSettings
from application.pipeline.handle_message import HandleMessage
from application.pipeline.operator_alerts import OperatorAlerts
from application.pipeline.read_attachments import ReadAttachments
from application.pipeline.spooled_intake import SpooledIntake
from domain.tokens import estimate_tokens
from domain.url_origins import response_url_origins
from domain.usage import Price
from infrastructure.aibot_channel_container import AiBotChannelContainer
from infrastructure.aibot_socket_channel_container import AiBotSocketChannelContainer
from infrastructure.app_channel_container import AppChannelContainer
from infrastructure.channel_models import chat_models, image_models, speech_models
from infrastructure.channel_settings import (
    AiBotChannelSettings,
    AiBotSocketChannelSettings,
    AppChannelSettings,
)
from infrastructure.config import AppConfig
from infrastructure.logging_setup import redact_also, secrets_masked
from infrastructure.secrets import reveal
from infrastructure.token_redaction import TokenRedactingCache


def process_name() -> str:
    """Names this process as an owner of leases: unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def scheduler_settings(config: AppConfig) -> SchedulerSettings:
    wecom = config.wecom
    return SchedulerSettings(
        workers=wecom.workers,
        lease_seconds=wecom.lease_seconds,
        sweep_seconds=wecom.sweep_seconds,
        shutdown_grace_seconds=wecom.shutdown_grace_seconds,
    )


# Each kind of channel settings, and the container that wires a channel of that kind.
_CONTAINERS = {
    AppChannelSettings: AppChannelContainer,
    AiBotChannelSettings: AiBotChannelContainer,
    AiBotSocketChannelSettings: AiBotSocketChannelContainer,
}


def channel_containers(config: AppConfig, shared: containers.Container) -> dict[str, object]:
    """One container per configured channel, by the channel's name ("app:hr")."""
    return {
        settings.id: _CONTAINERS[type(settings)](settings=settings, shared=shared)
        for settings in config.channels
    }


def channels_of(built: dict[str, object]) -> Channels:
    return Channels(container.channel() for container in built.values())


def announcers(built: dict[str, object]) -> dict[str, object]:
    """Each channel's way to send first, by channel (None: it cannot)."""
    return {name: container.announcer() for name, container in built.items()}


def channel_prices(config: AppConfig) -> dict[str, Price]:
    """Each channel's `llm.price` (its own section's, else the top level's)."""
    return {
        channel.id: Price(**channel.llm.price.model_dump(include=set(Price.__annotations__)))
        for channel in config.channels
    }


def joined(*route_lists: list) -> list:
    return [route for routes in route_lists for route in routes]


def token_statuses(built: dict[str, object]) -> dict[str, object]:
    """Each app's access-token state, by channel (a bot has no token: None)."""
    return {name: container.token_status() for name, container in built.items()}


def name_directories(config: AppConfig, built: dict[str, object]) -> dict[str, object]:
    """Each app's directory of group and member names, by channel (a bot has none)."""
    return {
        settings.id: built[settings.id].directory()
        for settings in config.channels
        if isinstance(settings, AppChannelSettings)
    }


def link_holders(built: dict[str, object]) -> list[object]:
    """What keeps each bot's long connection, for the channels that have one."""
    holders = [container.link_holder() for container in built.values()]
    return [holder for holder in holders if holder is not None]


def link_statuses(built: dict[str, object]) -> dict[str, object]:
    """Each bot's long-connection state reader, by channel, for the channels that have one."""
    links = {name: container.link() for name, container in built.items()}
    return {name: link.status for name, link in links.items() if link is not None}


class Container(containers.DeclarativeContainer):
    __self__ = providers.Self()
    config = providers.Dependency(instance_of=AppConfig)
    _wecom = config.provided.services.weworktop
    _llm = config.provided.llm

    # The service's clock (infrastructure.clock_source); leases use the database's instead.
    clock = providers.Object(time.time)
    # What WeCom's callbacks, refused for their timestamps, say about that clock.
    clock_watch = providers.Singleton(ClockSkewWatch, clock)
    jitter = providers.Object(random.random)
    owner = providers.Singleton(process_name)
    telemetry = providers.Singleton(PrometheusTelemetry)
    engine = providers.Singleton(build_engine, config.provided.storage.url)
    event_store = providers.Singleton(SqlAlchemyEventStore, engine)
    token_cache = providers.Singleton(
        TokenRedactingCache,
        providers.Singleton(SqlAlchemyAccessTokenCache, engine),
        providers.Object(redact_also),
    )
    lease_store = providers.Singleton(SqlAlchemyLeaseStore, engine)

    # httpx's default bound (100 connections), all kept alive: closing those beyond httpx's 20
    # after each call made a burst open a new connection for most calls to WeCom (profiled).
    wecom_http = providers.Singleton(
        pooled_client,
        timeout=_wecom.api_timeout_seconds,
        max_connections=100,
        max_keepalive_connections=100,
    )
    # One app's WeCom client; each app container completes it with its own keys.
    wecom_gateway = providers.Factory(
        HttpxWeComGateway,
        client=wecom_http,
        api_base_url=_wecom.api_base_url,
        token_cache=token_cache,
        leases=lease_store,
        owner=owner,
        clock=clock,
        fetch_lease_seconds=_wecom.lease_seconds,
    )
    # Where an AI bot message's response_url may point: WeCom's API, or api_base_url.
    response_url_origins = providers.Singleton(response_url_origins, _wecom.api_base_url)
    aibot_response_url = providers.Singleton(
        HttpxAiBotResponseUrl, wecom_http, response_url_origins
    )

    # The deployment's models (the top-level sections); a channel with a section of its own
    # gets models of its own (channel_models).
    # Connections unbounded here: each chat model bounds its own calls (llm.max_concurrency),
    # and httpx's default pool (100) would cap them lower, silently. A burst's worth kept
    # alive: the stacked pool costs the same per call however many it keeps, and a burst that
    # found only a few kept opened a new connection for most of its calls (profiled).
    llm_http = providers.Singleton(
        pooled_client,
        timeout=_llm.timeout_seconds,
        max_connections=None,
        max_keepalive_connections=256,
    )
    chat_model = providers.Selector(
        providers.Callable(attrgetter("llm.provider"), config), **chat_models(_llm, llm_http)
    )
    image_endpoint = config.provided.image_endpoint
    image_http = providers.Singleton(
        httpx.AsyncClient, timeout=config.provided.image.timeout_seconds
    )
    image_model = providers.Selector(
        providers.Callable(attrgetter("image_endpoint.provider"), config),
        **image_models(image_endpoint, image_http),
    )
    speech_endpoint = config.provided.speech_endpoint
    speech_to_text = providers.Selector(
        providers.Callable(attrgetter("speech_endpoint.provider"), config),
        **speech_models(speech_endpoint, llm_http),
    )
    audio_converter = providers.Singleton(FfmpegAudioConverter)
    # Pictures and files members send (README, "Pictures and files").
    _media = config.provided.media
    blob_store = providers.Singleton(SqlAlchemyBlobStore, engine)
    media_http = providers.Singleton(httpx.AsyncClient, timeout=_media.download_seconds)
    picture_reader = providers.Singleton(PillowPictureReader)
    text_extractor = providers.Singleton(
        SubprocessTextExtractor,
        timeout_seconds=_media.extract_seconds,
        memory_mb=_media.extract_memory_mb,
    )
    read_attachments = providers.Singleton(
        ReadAttachments,
        pictures=picture_reader,
        documents=text_extractor,
        blobs=blob_store,
        count_tokens=providers.Object(estimate_tokens),
    )
    alerts = providers.Singleton(OperatorAlerts)
    # The AI bots' streams in progress (this process).
    stream_board = providers.Singleton(StreamBoard)

    channel_containers = providers.Singleton(channel_containers, config, __self__)
    channels = providers.Singleton(channels_of, channel_containers)
    admission = providers.Singleton(Admission, usage=event_store, leases=lease_store, clock=clock)
    handle_message = providers.Singleton(
        HandleMessage,
        store=event_store,
        channels=channels,
        admission=admission,
        read=read_attachments,
        clock=clock,
    )
    scheduler_settings = providers.Singleton(scheduler_settings, config)
    scheduler = providers.Singleton(
        ConversationScheduler,
        store=event_store,
        handle=handle_message,
        leases=lease_store,
        owner=owner,
        settings=scheduler_settings,
        clock=clock,
        telemetry=telemetry,
    )
    # Where callbacks' messages wait while the store is unavailable (README, "Store outages").
    message_spool = providers.Singleton(
        SqliteMessageSpool,
        path=config.provided.storage.provided.spool_file.call(),
        max_messages=config.provided.storage.spool_max_messages,
    )
    spooled_intake = providers.Singleton(
        SpooledIntake, store=event_store, spool=message_spool, notifier=scheduler, clock=clock
    )

    link_holders = providers.Singleton(link_holders, channel_containers)
    readiness = providers.Singleton(
        Readiness,
        ping_store=event_store.provided.ping,
        intake_state=spooled_intake.provided.state,
        token_statuses=providers.Callable(token_statuses, channel_containers),
        link_statuses=providers.Callable(link_statuses, channel_containers),
        clock=clock,
        clock_skew=clock_watch.provided.current,
        disk_shortage=providers.Singleton(
            DiskSpaceWatch,
            paths=config.provided.storage.provided.local_files.call(),
            min_free_mib=config.provided.storage.provided.min_free_mib,
        ).provided.shortage,
    )
    operator_pages = providers.Singleton(
        OperatorPages,
        providers.Singleton(
            OperatorView,
            store=event_store,
            token_statuses=providers.Callable(token_statuses, channel_containers),
            advice=providers.Object(advice),
            directories=providers.Callable(name_directories, config, channel_containers),
            link_statuses=providers.Callable(link_statuses, channel_containers),
        ),
    )
    retention = providers.Singleton(
        Retention,
        store=event_store,
        leases=lease_store,
        owner=owner,
        days=config.provided.storage.retention_days,
        clock=clock,
    )
    members_api = providers.Singleton(
        MembersApi, providers.Singleton(EraseMember, store=event_store, clock=clock)
    )
    export_api = providers.Singleton(
        ExportApi, reads=event_store, mask=providers.Object(secrets_masked), clock=clock
    )
    send_api = providers.Singleton(
        SendApi,
        send=providers.Singleton(
            SendAnnouncement,
            store=event_store,
            announcers=providers.Callable(announcers, channel_containers),
            clock=clock,
        ),
        store=event_store,
    )
    usage_api = providers.Singleton(
        UsageApi,
        providers.Singleton(
            UsageReport, reads=event_store, prices=providers.Callable(channel_prices, config)
        ),
    )
    admin = providers.Singleton(
        AdminSurface,
        bearer_token=providers.Callable(reveal, config.provided.admin.bearer_token),
        read_only_token=providers.Callable(reveal, config.provided.admin.read_only_token),
        read_statistics=event_store.provided.statistics,
        more_routes=providers.Callable(
            joined,
            operator_pages.provided.routes.call(),
            usage_api.provided.routes.call(),
            members_api.provided.routes.call(),
            export_api.provided.routes.call(),
            send_api.provided.routes.call(),
        ),
        public_paths=operator_pages.provided.public_paths,
    )
