"""What every channel has of its own, whatever its kind: its name, rules, rate limit and
models, and asking its model with the conversation's memory."""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from application.pipeline.accept_message import AcceptMessage
from application.pipeline.ask_with_memory import AskWithMemory
from application.pipeline.sender_rate_limiter import SenderRateLimiter
from application.pipeline.timed_chat_model import TimedChatModel
from domain.access import AccessRule
from domain.policy import ChatRules
from domain.quota import Quota
from domain.rate_limit import RateLimit
from domain.tokens import estimate_tokens
from infrastructure.channel_models import (
    SHARED,
    chat_model_choice,
    chat_models,
    endpoint_choice,
    image_models,
    speech_models,
)
from infrastructure.channel_settings import ChannelSettings
from infrastructure.config import RuleSettings
from infrastructure.secrets import reveal


def chat_rules(settings: ChannelSettings) -> ChatRules:
    rules = settings.rules
    return ChatRules(
        single_chat_prefix=tuple(rules.single_chat_prefix),
        single_chat_reply_prefix=rules.single_chat_reply_prefix,
        conversation_max_tokens=rules.conversation_max_tokens,
        max_single_msg_tokens=rules.max_single_msg_tokens,
        group_chat_prefix=tuple(rules.group_chat_prefix),
        group_name_white_list=tuple(rules.group_name_white_list),
        group_memory=rules.group_memory,
        image_create_prefix=tuple(rules.image_create_prefix),
        # Without a speech-to-text service, voice gets the "voice is off" reply.
        speech_recognition=settings.hears_voice,
        voice_off_reply=rules.voice_off_reply,
        unsupported_reply=rules.unsupported_reply,
        welcome_message=rules.welcome_message,
        image_understanding=rules.image_understanding,
        image_prompt=rules.image_prompt,
        file_understanding=rules.file_understanding,
        file_prompt=rules.file_prompt,
        max_image_bytes=rules.max_image_bytes,
        max_file_bytes=rules.max_file_bytes,
        max_prompt_images=rules.max_prompt_images,
    )


def rate_limit(rules: RuleSettings) -> RateLimit:
    settings = rules.rate_limit
    if settings is None:
        return RateLimit(messages=0, per_seconds=0)
    return RateLimit(messages=settings.messages, per_seconds=settings.per_seconds)


def access_rule(rules: RuleSettings) -> AccessRule:
    access = rules.access
    return AccessRule(
        allow_users=frozenset(access.allow_users),
        deny_users=frozenset(access.deny_users),
        allow_departments=frozenset(access.allow_departments),
        deny_departments=frozenset(access.deny_departments),
        denied_reply=access.denied_reply,
    )


def quota(rules: RuleSettings) -> Quota:
    return Quota(**rules.quota.model_dump(include=set(Quota.__annotations__)))


class ChannelParts(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=ChannelSettings)
    shared = providers.DependenciesContainer()

    name = settings.provided.id
    rules = providers.Singleton(chat_rules, settings)
    access = providers.Singleton(access_rule, settings.provided.rules)
    quota = providers.Singleton(quota, settings.provided.rules)
    rate_limiter = providers.Singleton(
        SenderRateLimiter, providers.Callable(rate_limit, settings.provided.rules)
    )
    _llm = settings.provided.llm
    raw_chat_model = providers.Selector(
        providers.Callable(chat_model_choice, _llm, shared.config.provided.llm),
        **{SHARED: shared.chat_model}, **chat_models(_llm, shared.llm_http),
    )
    chat_model = providers.Singleton(TimedChatModel, raw_chat_model, shared.telemetry, name)
    image_model = providers.Selector(
        providers.Callable(
            endpoint_choice, settings.provided.image, shared.config.provided.image_endpoint
        ),
        **{SHARED: shared.image_model},
        **image_models(settings.provided.image, shared.image_http),
    )
    speech_to_text = providers.Selector(
        providers.Callable(
            endpoint_choice, settings.provided.speech, shared.config.provided.speech_endpoint
        ),
        **{SHARED: shared.speech_to_text},
        **speech_models(settings.provided.speech, shared.llm_http),
    )
    accept_message = providers.Singleton(
        AcceptMessage,
        store=shared.event_store,
        notifier=shared.scheduler,
        group_memory=rules.provided.group_memory,
        intake=shared.spooled_intake,
    )
    # Built only for a channel whose callbacks WeCom signs and encrypts.
    crypto = providers.Singleton(
        WeComCrypto,
        token=providers.Callable(reveal, settings.provided.token),
        encoding_aes_key=providers.Callable(reveal, settings.provided.aes_key),
        receive_id=settings.provided.receive_id,
    )
    ask_with_memory = providers.Singleton(
        AskWithMemory,
        store=shared.event_store,
        model=chat_model,
        count_tokens=providers.Object(estimate_tokens),
        system_prompt=_llm.system_prompt,
        conversation_max_tokens=settings.provided.rules.conversation_max_tokens,
        max_answer_tokens=settings.provided.rules.max_single_msg_tokens,
        blobs=shared.blob_store,
        max_pictures=settings.provided.rules.max_prompt_images,
    )


