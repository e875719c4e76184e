"""Every configured channel, resolved: its keys, its rules (the top level's, overridden by
its entry) and its models (the top-level sections, with its own merged over them).

The seed's top-level app is the app named "default" and the `aibot` object the bot named
"default"; `apps` and `aibots` list more. A channel is known by "<kind>:<name>".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import SecretStr, ValidationError

from infrastructure.config_problems import validation_problems

DEFAULT_NAME = "default"
# Where an AI bot in long-connection mode dials out to (WECOM.md).
DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"


@dataclass(frozen=True)
class ModelEndpoint:
    provider: str
    base_url: str
    api_key: SecretStr | None
    model: str
    size: str | None = None


def image_endpoint(llm: Any, image: Any) -> ModelEndpoint:
    """With a real chat model, pictures come from the same server; offline, they are drawn
    locally."""
    return ModelEndpoint(
        provider=image.provider or ("openai" if llm.provider == "openai" else "offline"),
        base_url=image.base_url or llm.base_url,
        api_key=image.api_key or llm.api_key,
        model=image.model or llm.image_model,
        size=image.size or llm.image_size,
    )


def speech_endpoint(llm: Any, speech: Any) -> ModelEndpoint:
    return ModelEndpoint(
        provider=speech.provider or ("openai" if llm.provider == "openai" else "none"),
        base_url=speech.base_url or llm.base_url,
        api_key=speech.api_key or llm.api_key,
        model=speech.model or llm.speech_model,
    )


@dataclass(frozen=True)
class ChannelSettings:
    kind: ClassVar[str]
    name: str
    rules: Any  # RuleSettings
    llm: Any  # LlmSettings
    image: ModelEndpoint
    speech: ModelEndpoint

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def hears_voice(self) -> bool:
        """Voice messages are transcribed: asked for, and a speech-to-text service is there."""
        return self.rules.speech_recognition and self.speech.provider != "none"

    def secrets(self) -> list[SecretStr | None]:
        return [self.llm.api_key, self.image.api_key, self.speech.api_key]


@dataclass(frozen=True)
class SignedChannelSettings(ChannelSettings):
    """A channel WeCom calls at `callback_path`, signed and encrypted with its own keys."""

    callback_path: str
    token: SecretStr
    aes_key: SecretStr

    def secrets(self) -> list[SecretStr | None]:
        return [*super().secrets(), self.token, self.aes_key]


@dataclass(frozen=True)
class AppChannelSettings(SignedChannelSettings):
    kind: ClassVar[str] = "app"
    corp_id: str = ""
    agent_id: int = 0
    corp_secret: SecretStr = SecretStr("")

    @property
    def receive_id(self) -> str:
        """What WeCom writes into each encrypted callback as its addressee: the CorpID."""
        return self.corp_id

    def describe(self) -> str:
        return f"app {self.name} (agent {self.agent_id}) at {self.callback_path}"

    def secrets(self) -> list[SecretStr | None]:
        return [*super().secrets(), self.corp_secret]


@dataclass(frozen=True)
class AiBotChannelSettings(SignedChannelSettings):
    kind: ClassVar[str] = "aibot"
    show_thinking: bool = False
    stream_seconds: float = 300.0

    # A bot's callbacks name no addressee (WECOM.md).
    receive_id: ClassVar[str] = ""

    def describe(self) -> str:
        return f"aibot {self.name} at {self.callback_path}"


@dataclass(frozen=True)
class AiBotSocketChannelSettings(ChannelSettings):
    """An AI bot over WeCom's long connection: the service dials out, nothing is exposed.
    `stream_seconds` is how long a message's req_id is answered with stream frames."""

    kind: ClassVar[str] = "aibot"
    bot_id: str = ""
    secret: SecretStr = SecretStr("")
    ws_url: str = DEFAULT_WS_URL
    heartbeat_seconds: float = 30.0
    show_thinking: bool = False
    stream_seconds: float = 300.0

    def describe(self) -> str:
        return f"aibot {self.name} over a long connection to {self.ws_url}"

    def secrets(self) -> list[SecretStr | None]:
        return [*super().secrets(), self.secret]


def resolve_channels(
    wecom: Any, llm: Any, image: Any, speech: Any
) -> tuple[ChannelSettings, ...]:
    """Raises ValueError naming the key, for a channel that cannot be served as configured."""
    top = _Models(llm, image, speech)
    channels: list[ChannelSettings] = []
    if wecom.has_seed_app:
        channels.append(_seed_app(wecom, top))
    for index, entry in enumerate(wecom.apps):
        channels.append(_app(wecom, entry, top.merged(entry, f"apps.{index}")))
    if wecom.aibot.enabled:
        channels.append(_seed_aibot(wecom, top))
    for index, entry in enumerate(wecom.aibots):
        channels.append(_aibot(wecom, entry, top.merged(entry, f"aibots.{index}")))
    if not channels:
        raise ValueError(
            "no channel is configured: give the app's corp_secret, agent_id, token and "
            "aes_key, or list 'apps' or 'aibots'"
        )
    # The seed's app and bot are both "default": they came before names, and differ by kind.
    seeds = [DEFAULT_NAME] if wecom.has_seed_app or wecom.aibot.enabled else []
    _check_unique(channels, seeds + [entry.name for entry in [*wecom.apps, *wecom.aibots]])
    return tuple(channels)


@dataclass(frozen=True)
class _Models:
    llm: Any
    image: Any
    speech: Any

    def merged(self, entry: Any, where: str) -> _Models:
        return _Models(
            _merge(self.llm, entry.llm, f"{where}.llm"),
            _merge(self.image, entry.image, f"{where}.image"),
            _merge(self.speech, entry.speech, f"{where}.speech"),
        )

    def endpoints(self) -> dict[str, Any]:
        return {
            "llm": self.llm,
            "image": image_endpoint(self.llm, self.image),
            "speech": speech_endpoint(self.llm, self.speech),
        }


def _merge(section: Any, override: dict[str, Any] | None, where: str) -> Any:
    if not override:
        return section
    try:
        return type(section).model_validate({**section.model_dump(), **override})
    except ValidationError as err:
        problems = [f"services.weworktop.{where}.{problem}" for problem in validation_problems(err)]
        raise ValueError("; ".join(problems)) from None


def _rules(wecom: Any, entry: Any) -> Any:
    """The top level's rule keys, with those the entry sets in their place."""
    rules = wecom.rules
    keys = entry.model_fields_set & set(type(rules).model_fields)
    given = {key: getattr(entry, key) for key in keys}
    return rules.model_copy(update=given)


def _seed_app(wecom: Any, models: _Models) -> AppChannelSettings:
    if not wecom.corp_id:
        raise ValueError("services.weworktop.corp_id: required key is missing")
    return AppChannelSettings(
        name=DEFAULT_NAME, callback_path=wecom.callback_path, token=wecom.token,
        aes_key=wecom.aes_key, rules=wecom.rules, corp_id=wecom.corp_id,
        agent_id=wecom.agent_id, corp_secret=wecom.corp_secret, **models.endpoints(),
    )


def _app(wecom: Any, entry: Any, models: _Models) -> AppChannelSettings:
    corp_id = entry.corp_id or wecom.corp_id
    if not corp_id:
        raise ValueError(
            f"services.weworktop.apps '{entry.name}': corp_id is missing here and at the top level"
        )
    return AppChannelSettings(
        name=entry.name, callback_path=entry.callback_path or f"/wework_callback/{entry.name}",
        token=entry.token, aes_key=entry.aes_key, rules=_rules(wecom, entry), corp_id=corp_id,
        agent_id=entry.agent_id, corp_secret=entry.corp_secret, **models.endpoints(),
    )


def _seed_aibot(wecom: Any, models: _Models) -> AiBotChannelSettings:
    bot = wecom.aibot
    return AiBotChannelSettings(
        name=DEFAULT_NAME, callback_path=bot.callback_path, token=bot.token,
        aes_key=bot.aes_key, rules=wecom.rules, show_thinking=bot.show_thinking,
        stream_seconds=bot.stream_seconds, **models.endpoints(),
    )


def _aibot(
    wecom: Any, entry: Any, models: _Models
) -> AiBotChannelSettings | AiBotSocketChannelSettings:
    if entry.mode == "websocket":
        return AiBotSocketChannelSettings(
            name=entry.name, rules=_rules(wecom, entry), bot_id=entry.bot_id,
            secret=entry.secret, ws_url=entry.ws_url, heartbeat_seconds=entry.heartbeat_seconds,
            show_thinking=entry.show_thinking, stream_seconds=entry.stream_seconds,
            **models.endpoints(),
        )
    return AiBotChannelSettings(
        name=entry.name, callback_path=entry.callback_path or f"/wework_aibot/{entry.name}",
        token=entry.token, aes_key=entry.aes_key, rules=_rules(wecom, entry),
        show_thinking=entry.show_thinking, stream_seconds=entry.stream_seconds,
        **models.endpoints(),
    )


# Paths the service itself serves; a channel there would be shadowed or shadow them.
_RESERVED_PATHS = ("/healthz", "/readyz", "/metrics", "/admin")


def _check_unique(channels: list[ChannelSettings], names: list[str]) -> None:
    for name, count in Counter(names).items():
        if count > 1:
            raise ValueError(f"two channels are named '{name}': each name must be unique")
    signed = [c for c in channels if isinstance(c, SignedChannelSettings)]
    for path, count in Counter(c.callback_path for c in signed).items():
        if count > 1:
            raise ValueError(f"two channels have the callback_path '{path}'")
        if any(path == r or path.startswith(r + "/") for r in _RESERVED_PATHS):
            raise ValueError(f"callback_path '{path}' is one of the service's own paths")
    apps = [c for c in channels if isinstance(c, AppChannelSettings)]
    for (corp_id, agent_id), count in Counter((c.corp_id, c.agent_id) for c in apps).items():
        if count > 1:
            raise ValueError(f"two apps have agent_id {agent_id} in corp {corp_id}")
    # WeCom keeps one connection per bot: two entries for one bot would kick each other off.
    sockets = [c for c in channels if isinstance(c, AiBotSocketChannelSettings)]
    for bot_id, count in Counter(c.bot_id for c in sockets).items():
        if count > 1:
            raise ValueError(
                f"two aibots have bot_id '{bot_id}': WeCom keeps one connection per bot"
            )
