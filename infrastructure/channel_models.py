"""Each channel's models: the deployment's own where the channel has no section of its own,
so that channels share one client (and tests override one provider), else built for it."""

from __future__ import annotations

from dependency_injector import providers

from adapters.outbound.offline.echo_chat_model import EchoChatModel
from adapters.outbound.offline.no_speech_to_text import NoSpeechToText
from adapters.outbound.offline.offline_image_model import OfflineImageModel
from adapters.outbound.openai.httpx_openai_chat_model import HttpxOpenAIChatModel
from adapters.outbound.openai.httpx_openai_image_model import HttpxOpenAIImageModel
from adapters.outbound.openai.httpx_openai_speech_to_text import HttpxOpenAISpeechToText
from infrastructure.channel_settings import ModelEndpoint
from infrastructure.secrets import reveal

SHARED = "shared"


# What a channel's prompt is made of, not how its model is reached: a channel that changes only
# these shares the deployment's model.
_PROMPT_KEYS = {"system_prompt"}


def chat_model_choice(llm, shared_llm) -> str:
    same = llm.model_dump(exclude=_PROMPT_KEYS) == shared_llm.model_dump(exclude=_PROMPT_KEYS)
    return SHARED if same else llm.provider


def endpoint_choice(endpoint: ModelEndpoint, shared_endpoint: ModelEndpoint) -> str:
    return SHARED if endpoint == shared_endpoint else endpoint.provider


def chat_models(llm, client) -> dict[str, providers.Provider]:
    """The chat model for `llm` (a provider of LlmSettings), by provider name."""
    return {
        "openai": providers.Singleton(
            HttpxOpenAIChatModel,
            client=client,
            base_url=llm.provided.base_url,
            api_key=providers.Callable(reveal, llm.provided.api_key),
            model=llm.provided.model,
            temperature=llm.provided.temperature,
            answer_seconds=llm.provided.answer_timeout_seconds,
            max_concurrency=llm.provided.max_concurrency,
            first_token_seconds=llm.provided.first_token_timeout_seconds,
            hedge_after_seconds=llm.provided.hedge_after_seconds,
            vision_model=llm.provided.vision_model,
        ),
        "echo": providers.Singleton(EchoChatModel),
    }


def image_models(endpoint, client) -> dict[str, providers.Provider]:
    return {
        "openai": providers.Singleton(
            HttpxOpenAIImageModel,
            client=client,
            base_url=endpoint.provided.base_url,
            api_key=providers.Callable(reveal, endpoint.provided.api_key),
            model=endpoint.provided.model,
            size=endpoint.provided.size,
        ),
        "offline": providers.Singleton(OfflineImageModel),
    }


def speech_models(endpoint, client) -> dict[str, providers.Provider]:
    return {
        "openai": providers.Singleton(
            HttpxOpenAISpeechToText,
            client=client,
            base_url=endpoint.provided.base_url,
            api_key=providers.Callable(reveal, endpoint.provided.api_key),
            model=endpoint.provided.model,
        ),
        "none": providers.Singleton(NoSpeechToText),
    }
