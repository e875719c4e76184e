"""One AI bot over WeCom's long connection, wired: the link (the way messages come in and
frames go out, held by one process of the deployment), its rules and models, its streams as
frames, and the bot's own messages for what a stream cannot carry."""

from __future__ import annotations

from functools import partial

from dependency_injector import containers, providers

from adapters.inbound.wecom_aibot.aibot_link_holder import AiBotLinkHolder
from adapters.inbound.wecom_aibot.websocket_aibot_link import WebSocketAiBotLink
from adapters.outbound.wecom.httpx_aibot_media import HttpxAiBotMedia
from application.channels.aibot.deliver_socket_reply import DeliverSocketReply
from application.channels.aibot.record_feedback import RecordFeedback
from application.channels.aibot.socket_streaming_ask import SocketStreamingAsk
from application.channels.aibot.stream_board import StreamTiming
from application.channels.aibot.stream_frames import FRAME_GAP_SECONDS
from infrastructure.aibot_channel_container import aibot_channel
from infrastructure.channel_parts import ChannelParts
from infrastructure.channel_settings import AiBotSocketChannelSettings
from infrastructure.secrets import reveal


class AiBotSocketChannelContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AiBotSocketChannelSettings)
    shared = providers.DependenciesContainer()
    parts = providers.Container(ChannelParts, settings=settings, shared=shared)
    _wecom = shared.config.provided.services.weworktop

    # No access token, and nothing for WeCom to call: the link dials out.
    token_status = providers.Object(None)
    routes = providers.Object(())
    # aibot_send_msg could send first, to a member who has talked to the bot; not offered yet.
    announcer = providers.Object(None)
    stream_timing = providers.Singleton(StreamTiming, settings.provided.stream_seconds)
    frame_gap = providers.Object(FRAME_GAP_SECONDS)
    accept = parts.accept_message
    record_feedback = providers.Singleton(RecordFeedback, parts.name, shared.event_store)
    # Once connected: answers that waited for the link go at once, not at their next look.
    link_up = providers.Callable(
        partial, shared.scheduler.provided.resume_pending, waiting_too=True
    )
    # The channel answers through the link; the holder keeps its connection and feeds what
    # comes in to the pipeline (apart, so that neither needs the other to be built).
    link = providers.Singleton(WebSocketAiBotLink, parts.name, shared.telemetry, shared.clock)
    link_holder = providers.Singleton(
        AiBotLinkHolder,
        link=link,
        channel=parts.name,
        ws_url=settings.provided.ws_url,
        bot_id=settings.provided.bot_id,
        secret=providers.Callable(reveal, settings.provided.secret),
        heartbeat_seconds=settings.provided.heartbeat_seconds,
        leases=shared.lease_store,
        owner=shared.owner,
        lease_seconds=_wecom.lease_seconds,
        accept=accept,
        record_feedback=record_feedback,
        telemetry=shared.telemetry,
        on_up=link_up,
        jitter=shared.jitter,
    )
    channel = aibot_channel(
        parts,
        asker=providers.Singleton(
            SocketStreamingAsk,
            parts.ask_with_memory,
            link,
            stream_timing,
            show_thinking=settings.provided.show_thinking,
            single_chat_reply_prefix=parts.rules.provided.single_chat_reply_prefix,
            frame_gap_seconds=frame_gap,
            clock=shared.clock,
        ),
        deliverer=providers.Singleton(
            DeliverSocketReply,
            shared.event_store,
            link,
            stream_timing,
            give_up_after_seconds=_wecom.delivery_give_up_seconds,
            clock=shared.clock,
            jitter=shared.jitter,
        ),
        # Over the long connection each picture or file brings its own aeskey.
        media=providers.Singleton(
            HttpxAiBotMedia,
            shared.media_http,
            total_seconds=shared.config.provided.media.download_seconds,
        ),
    )
