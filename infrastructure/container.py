"""The one place that knows every concrete class: configuration in, wired service out.

Tests override single providers (`container.chat_model.override(...)`) to swap a port.
"""

from __future__ import annotations

import os
import secrets
import socket
from operator import attrgetter

import httpx
from dependency_injector import containers, providers
from pydantic import SecretStr

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.health import Readiness
from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.operator_api import OperatorPages
from adapters.inbound.wecom_app.wecom_callback import WeComCallback
from adapters.outbound.media.ffmpeg_audio_converter import FfmpegAudioConverter
from adapters.outbound.metrics.prometheus_telemetry import PrometheusTelemetry
from adapters.outbound.offline.echo_chat_model import EchoChatModel
from adapters.outbound.offline.no_speech_to_text import NoSpeechToText
from adapters.outbound.offline.offline_image_model import OfflineImageModel
from adapters.outbound.openai.httpx_openai_chat_model import HttpxOpenAIChatModel
from adapters.outbound.openai.httpx_openai_image_model import HttpxOpenAIImageModel
from adapters.outbound.openai.httpx_openai_speech_to_text import HttpxOpenAISpeechToText
from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_event_store import SqlAlchemyEventStore
from adapters.outbound.persistence.sqlalchemy_lease_store import SqlAlchemyLeaseStore
from adapters.outbound.persistence.sqlalchemy_token_cache import SqlAlchemyAccessTokenCache
from adapters.outbound.wecom.httpx_aibot_response_url import HttpxAiBotResponseUrl
from adapters.outbound.wecom.httpx_wecom_gateway import HttpxWeComGateway
from adapters.outbound.wecom.wecom_errors import advice
from application.channels.aibot.deliver_aibot_reply import DeliverAiBotReply, DeliverByChannel
from application.channels.aibot.stream_board import StreamBoard, StreamTiming
from application.channels.aibot.streaming_ask import StreamingAsk
from application.channels.app.deliver_app_reply import DeliverReply
from application.channels.app.name_directory import NameDirectory
from application.channels.app.send_pacer import SendPacer
from application.operator.operator_view import OperatorView
from application.pipeline.accept_message import AcceptMessage
from application.pipeline.ask_with_memory import AskWithMemory
from application.pipeline.conversation_scheduler import ConversationScheduler, SchedulerSettings
from application.pipeline.handle_message import HandleMessage, Skills
from application.pipeline.media_work import DrawPicture, TranscribeVoice
from application.pipeline.operator_alerts import OperatorAlerts
from application.pipeline.sender_rate_limiter import SenderRateLimiter
from application.pipeline.timed_chat_model import TimedChatModel
from domain.policy import ChatRules
from domain.rate_limit import RateLimit
from domain.tokens import estimate_tokens
from infrastructure.aibot_container import AiBotContainer
from infrastructure.config import AppConfig, WeWorkTopSettings
from infrastructure.logging_setup import redact_also
from infrastructure.token_redaction import TokenRedactingCache


def reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


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


def rate_limit(config: AppConfig) -> RateLimit:
    settings = config.wecom.rate_limit
    if settings is None:
        return RateLimit(messages=0, per_seconds=0)
    return RateLimit(messages=settings.messages, per_seconds=settings.per_seconds)


def chat_rules(config: AppConfig) -> ChatRules:
    wecom: WeWorkTopSettings = config.wecom
    return ChatRules(
        single_chat_prefix=tuple(wecom.single_chat_prefix),
        single_chat_reply_prefix=wecom.single_chat_reply_prefix,
        conversation_max_tokens=wecom.conversation_max_tokens,
        max_single_msg_tokens=wecom.max_single_msg_tokens,
        group_chat_prefix=tuple(wecom.group_chat_prefix),
        group_name_white_list=tuple(wecom.group_name_white_list),
        group_memory=wecom.group_memory,
        image_create_prefix=tuple(wecom.image_create_prefix),
        speech_recognition=wecom.speech_recognition,
        voice_off_reply=wecom.voice_off_reply,
        unsupported_reply=wecom.unsupported_reply,
        welcome_message=wecom.welcome_message,
    )


class Container(containers.DeclarativeContainer):
    config = providers.Dependency(instance_of=AppConfig)
    _wecom = config.provided.services.weworktop
    _llm = config.provided.llm

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

    wecom_http = providers.Singleton(httpx.AsyncClient, timeout=_wecom.api_timeout_seconds)
    wecom_gateway = providers.Singleton(
        HttpxWeComGateway,
        client=wecom_http,
        api_base_url=_wecom.api_base_url,
        corp_id=_wecom.corp_id,
        corp_secret=providers.Callable(reveal, _wecom.corp_secret),
        agent_id=_wecom.agent_id,
        token_cache=token_cache,
        leases=lease_store,
        owner=owner,
        fetch_lease_seconds=_wecom.lease_seconds,
        observe=telemetry.provided.wecom_called,
    )

    llm_http = providers.Singleton(httpx.AsyncClient, timeout=_llm.timeout_seconds)
    raw_chat_model = providers.Selector(
        providers.Callable(attrgetter("llm.provider"), config),
        openai=providers.Singleton(
            HttpxOpenAIChatModel,
            client=llm_http,
            base_url=_llm.base_url,
            api_key=providers.Callable(reveal, _llm.api_key),
            model=_llm.model,
            temperature=_llm.temperature,
        ),
        echo=providers.Singleton(EchoChatModel),
    )
    chat_model = providers.Singleton(TimedChatModel, raw_chat_model, telemetry)

    _image = config.provided.image_endpoint
    image_http = providers.Singleton(
        httpx.AsyncClient, timeout=config.provided.image.timeout_seconds
    )
    image_model = providers.Selector(
        providers.Callable(attrgetter("image_endpoint.provider"), config),
        openai=providers.Singleton(
            HttpxOpenAIImageModel,
            client=image_http,
            base_url=_image.base_url,
            api_key=providers.Callable(reveal, _image.api_key),
            model=_image.model,
            size=_image.size,
        ),
        offline=providers.Singleton(OfflineImageModel),
    )
    _speech = config.provided.speech_endpoint
    speech_to_text = providers.Selector(
        providers.Callable(attrgetter("speech_endpoint.provider"), config),
        openai=providers.Singleton(
            HttpxOpenAISpeechToText,
            client=llm_http,
            base_url=_speech.base_url,
            api_key=providers.Callable(reveal, _speech.api_key),
            model=_speech.model,
        ),
        none=providers.Singleton(NoSpeechToText),
    )
    audio_converter = providers.Singleton(FfmpegAudioConverter)
    directory = providers.Singleton(NameDirectory, wecom_gateway)
    rules = providers.Singleton(chat_rules, config)
    # The AI bot's streams in progress (this process), and how long each stays open.
    stream_board = providers.Singleton(StreamBoard)
    stream_timing = providers.Singleton(StreamTiming, _wecom.aibot.stream_seconds)
    skills = providers.Singleton(
        Skills,
        ask=providers.Singleton(
            StreamingAsk,
            providers.Singleton(
                AskWithMemory,
                store=event_store,
                model=chat_model,
                count_tokens=providers.Object(estimate_tokens),
                system_prompt=_llm.system_prompt,
                conversation_max_tokens=_wecom.conversation_max_tokens,
                max_answer_tokens=_wecom.max_single_msg_tokens,
            ),
            stream_board,
            stream_timing,
            show_thinking=_wecom.aibot.show_thinking,
            single_chat_reply_prefix=_wecom.single_chat_reply_prefix,
        ),
        draw=providers.Singleton(DrawPicture, image_model, wecom_gateway),
        transcribe=providers.Singleton(
            TranscribeVoice, wecom_gateway, audio_converter, speech_to_text
        ),
        directory=directory,
    )

    deliver_reply = providers.Singleton(
        DeliverReply,
        store=event_store,
        gateway=wecom_gateway,
        pacer=providers.Singleton(SendPacer),
        alerts=providers.Singleton(OperatorAlerts),
        give_up_after_seconds=_wecom.delivery_give_up_seconds,
    )
    aibot_delivery = providers.Singleton(
        DeliverAiBotReply, event_store, providers.Singleton(HttpxAiBotResponseUrl, wecom_http),
        stream_timing,
    )
    handle_message = providers.Singleton(
        HandleMessage,
        store=event_store,
        skills=skills,
        deliver=providers.Singleton(DeliverByChannel, deliver_reply, aibot_delivery),
        count_tokens=providers.Object(estimate_tokens),
        rules=rules,
        rate_limiter=providers.Singleton(
            SenderRateLimiter, providers.Callable(rate_limit, config)
        ),
    )
    scheduler = providers.Singleton(
        ConversationScheduler,
        store=event_store,
        handle=handle_message,
        leases=lease_store,
        owner=owner,
        settings=providers.Singleton(scheduler_settings, config),
        telemetry=telemetry,
    )
    accept_message = providers.Factory(
        AcceptMessage, store=event_store, notifier=scheduler, group_memory=_wecom.group_memory
    )

    crypto = providers.Singleton(
        WeComCrypto,
        token=providers.Callable(reveal, _wecom.token),
        encoding_aes_key=providers.Callable(reveal, _wecom.aes_key),
        receive_id=_wecom.corp_id,
    )
    callback = providers.Singleton(
        WeComCallback,
        crypto=crypto,
        accept=accept_message,
        agent_id=_wecom.agent_id,
        max_skew_seconds=_wecom.callback_max_skew_seconds,
        telemetry=telemetry,
    )
    aibot = providers.Container(
        AiBotContainer, config=config, event_store=event_store, accept_message=accept_message,
        notifier=scheduler, board=stream_board, timing=stream_timing, rules=rules,
        telemetry=telemetry,
    )
    readiness = providers.Singleton(
        Readiness,
        ping_store=event_store.provided.ping,
        token_status=wecom_gateway.provided.token_status,
    )
    operator_pages = providers.Singleton(
        OperatorPages,
        providers.Singleton(
            OperatorView,
            store=event_store,
            token_status=wecom_gateway.provided.token_status,
            advice=providers.Object(advice),
        ),
    )
    admin = providers.Singleton(
        AdminSurface,
        bearer_token=providers.Callable(reveal, config.provided.admin.bearer_token),
        read_statistics=event_store.provided.statistics,
        more_routes=operator_pages.provided.routes.call(),
        public_paths=operator_pages.provided.public_paths,
    )
