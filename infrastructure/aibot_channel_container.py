"""One AI bot, wired: its callback keys (receiveid ""), its rules and models, its streams and
their refreshes, and the late answers through response_url."""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.inbound.wecom_aibot.wecom_aibot_callback import WeComAiBotCallback
from adapters.outbound.wecom.httpx_aibot_media import HttpxAiBotMedia
from application.channels.aibot.accept_aibot_message import AcceptAiBotMessage
from application.channels.aibot.aibot_channel import AiBotChannel
from application.channels.aibot.deliver_aibot_reply import DeliverAiBotReply
from application.channels.aibot.refresh_stream import RefreshStream
from application.channels.aibot.stream_board import StreamTiming
from application.channels.aibot.streaming_ask import StreamingAsk
from domain.tokens import estimate_tokens
from infrastructure.channel_parts import ChannelParts
from infrastructure.channel_settings import AiBotChannelSettings
from infrastructure.secrets import reveal


def aibot_channel(parts, asker, deliverer, media) -> providers.Singleton:
    """A bot's channel; the two modes differ only in how it asks, delivers and downloads."""
    return providers.Singleton(
        AiBotChannel,
        name=parts.name,
        rules=parts.rules,
        access=parts.access,
        quota=parts.quota,
        rate_limiter=parts.rate_limiter,
        count_tokens=providers.Object(estimate_tokens),
        asker=asker,
        deliverer=deliverer,
        media=media,
    )


class AiBotChannelContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AiBotChannelSettings)
    shared = providers.DependenciesContainer()
    parts = providers.Container(ChannelParts, settings=settings, shared=shared)
    _wecom = shared.config.provided.services.weworktop

    # A bot has no access token of its own: WeCom signs its callbacks, nothing to fetch.
    token_status = providers.Object(None)
    # Nor a way to send first: in callback mode a bot only answers.
    announcer = providers.Object(None)
    stream_timing = providers.Singleton(StreamTiming, settings.provided.stream_seconds)
    media = providers.Singleton(
        HttpxAiBotMedia,
        shared.media_http,
        # In callback mode an item brings no key of its own: the bot's key decrypts it.
        bot_aes_key=providers.Callable(reveal, settings.provided.aes_key),
        total_seconds=shared.config.provided.media.download_seconds,
    )
    channel = aibot_channel(
        parts,
        asker=providers.Singleton(
            StreamingAsk,
            parts.ask_with_memory,
            shared.stream_board,
            stream_timing,
            show_thinking=settings.provided.show_thinking,
            single_chat_reply_prefix=parts.rules.provided.single_chat_reply_prefix,
        ),
        deliverer=providers.Singleton(
            DeliverAiBotReply,
            shared.event_store,
            shared.aibot_response_url,
            stream_timing,
            clock=shared.clock,
            jitter=shared.jitter,
        ),
        media=media,
    )
    accept = providers.Singleton(
        AcceptAiBotMessage,
        accept=parts.accept_message,
        rules=parts.rules,
        count_tokens=providers.Object(estimate_tokens),
    )
    callback = providers.Singleton(
        WeComAiBotCallback,
        crypto=parts.crypto,
        accept=accept,
        refresh=providers.Singleton(
            RefreshStream,
            parts.name,
            store=shared.event_store,
            board=shared.stream_board,
            notifier=shared.scheduler,
            timing=stream_timing,
            clock=shared.clock,
        ),
        max_skew_seconds=_wecom.callback_max_skew_seconds,
        clock=shared.clock,
        clock_watch=shared.clock_watch,
        response_origins=shared.response_url_origins,
        telemetry=shared.telemetry,
        channel=parts.name,
    )
    routes = callback.provided.routes.call(settings.provided.callback_path)
    # WeCom calls this channel: no long connection.
    link = providers.Object(None)
    link_holder = providers.Object(None)
