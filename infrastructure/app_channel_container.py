"""One self-built app, wired: its WeCom client (its own secret, so its own access token), its
rules, models, memory, pacing and rate limit, and its callback endpoint."""

from __future__ import annotations

from functools import partial

from dependency_injector import containers, providers

from adapters.inbound.wecom_app.wecom_callback import WeComCallback
from application.channels.app.app_announcer import AppAnnouncer
from application.channels.app.app_channel import AppChannel
from application.channels.app.deliver_app_reply import DeliverAppReply
from application.channels.app.fetch_app_media import FetchAppMedia
from application.channels.app.name_directory import NameDirectory
from application.channels.app.send_pacer import SendPacer
from application.pipeline.media_work import DrawPicture, TranscribeVoice
from domain.tokens import estimate_tokens
from infrastructure.channel_parts import ChannelParts
from infrastructure.channel_settings import AppChannelSettings
from infrastructure.config import RuleSettings
from infrastructure.secrets import reveal


def markdown_replies(rules: RuleSettings) -> bool:
    return rules.reply_format == "markdown"


class AppChannelContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AppChannelSettings)
    shared = providers.DependenciesContainer()
    parts = providers.Container(ChannelParts, settings=settings, shared=shared)
    _wecom = shared.config.provided.services.weworktop

    gateway = providers.Singleton(
        shared.wecom_gateway,
        corp_id=settings.provided.corp_id,
        corp_secret=providers.Callable(reveal, settings.provided.corp_secret),
        agent_id=settings.provided.agent_id,
        observe=providers.Callable(partial, shared.telemetry.provided.wecom_called, parts.name),
    )
    token_status = gateway.provided.token_status
    # WeCom's per-member limits count per app: answers and announcements share one pacer.
    pacer = providers.Singleton(SendPacer)
    announcer = providers.Singleton(AppAnnouncer, gateway, pacer)
    _markdown = providers.Callable(markdown_replies, settings.provided.rules)
    directory = providers.Singleton(NameDirectory, gateway)
    channel = providers.Singleton(
        AppChannel,
        name=parts.name,
        rules=parts.rules,
        access=parts.access,
        quota=parts.quota,
        rate_limiter=parts.rate_limiter,
        count_tokens=providers.Object(estimate_tokens),
        asker=parts.ask_with_memory,
        directory=directory,
        drawer=providers.Singleton(DrawPicture, parts.image_model, gateway),
        transcriber=providers.Singleton(
            TranscribeVoice, gateway, shared.audio_converter, parts.speech_to_text
        ),
        media=providers.Singleton(FetchAppMedia, gateway),
        markdown=_markdown,
        deliverer=providers.Singleton(
            DeliverAppReply,
            store=shared.event_store,
            gateway=gateway,
            pacer=pacer,
            alerts=shared.alerts,
            give_up_after_seconds=_wecom.delivery_give_up_seconds,
            clock=shared.clock,
            jitter=shared.jitter,
            markdown=_markdown,
        ),
    )
    accept = parts.accept_message
    callback = providers.Singleton(
        WeComCallback,
        crypto=parts.crypto,
        accept=accept,
        agent_id=settings.provided.agent_id,
        max_skew_seconds=_wecom.callback_max_skew_seconds,
        clock=shared.clock,
        clock_watch=shared.clock_watch,
        telemetry=shared.telemetry,
        channel=parts.name,
    )
    routes = callback.provided.routes.call(settings.provided.callback_path)
    # WeCom calls this channel: no long connection.
    link = providers.Object(None)
    link_holder = providers.Object(None)
