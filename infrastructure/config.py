"""config.json: the product's documented keys, their defaults, and one clear line per mistake.

Secrets may come from the environment instead of the file (and then win over it), so the
file can be shared without them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from infrastructure.config_permissions import exposed_secrets_warnings

DEFAULT_SYSTEM_PROMPT = (
    "你是企业微信里的智能助手，回答准确、简洁、友好。"
    "You are a helpful assistant inside WeCom: accurate, concise and friendly."
)

SECRET_ENV = {
    ("services", "weworktop", "corp_secret"): ("WEWORKTOP_CORP_SECRET",),
    ("services", "weworktop", "token"): ("WEWORKTOP_TOKEN",),
    ("services", "weworktop", "aes_key"): ("WEWORKTOP_AES_KEY",),
    ("services", "weworktop", "aibot", "token"): ("WEWORKTOP_AIBOT_TOKEN",),
    ("services", "weworktop", "aibot", "aes_key"): ("WEWORKTOP_AIBOT_AES_KEY",),
    ("llm", "api_key"): ("LLM_API_KEY", "OPENAI_API_KEY"),
    ("image", "api_key"): ("WEWORKTOP_IMAGE_API_KEY",),
    ("speech", "api_key"): ("WEWORKTOP_SPEECH_API_KEY",),
    ("admin", "bearer_token"): ("WEWORKTOP_ADMIN_TOKEN",),
}

# WeCom's callback Token and EncodingAESKey, for the app and the AI bot alike.
TOKEN_SHAPE = r"[A-Za-z0-9]{1,32}"
AES_KEY_SHAPE = r"[A-Za-z0-9]{43}"


def _shaped(value: SecretStr, shape: str, what: str) -> SecretStr:
    if not re.fullmatch(shape, value.get_secret_value()):
        raise ValueError(f"must be {what}")
    return value


def _from_root(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError("must start with '/'")
    return path


CallbackPath = Annotated[str, AfterValidator(_from_root)]

# A bearer token anyone could guess in a few tries would make the admin surface public.
MIN_ADMIN_TOKEN_CHARS = 16


class ConfigError(Exception):
    """A configuration mistake, described in one line that names the key."""


class _Section(BaseModel):
    # Unknown keys are kept so they can be warned about, not rejected.
    model_config = ConfigDict(extra="allow", frozen=True)


class RateLimitSettings(_Section):
    """Model calls per sender: `messages` every `per_seconds`; 0 messages turns it off."""

    messages: int = Field(20, ge=0)
    per_seconds: float = Field(60.0, gt=0)


class AiBotSettings(_Section):
    """The AI bot (智能机器人) in API mode: group chats by @-mention, answers streamed."""

    enabled: bool = False
    # Validated even when absent, so that "enabled without a token" stops start-up.
    token: SecretStr | None = Field(None, validate_default=True)
    aes_key: SecretStr | None = Field(None, validate_default=True)
    callback_path: CallbackPath = "/wework_aibot"
    show_thinking: bool = False
    # WeCom stops refreshing a stream after about six minutes; ours closes before that.
    stream_seconds: float = Field(300.0, ge=10, le=340)

    @field_validator("token")
    @classmethod
    def _token_when_enabled(cls, value: SecretStr | None, info: ValidationInfo):
        return _required_when_enabled(
            value, info, TOKEN_SHAPE, "the AI bot's Token: 1 to 32 letters and digits",
            "WEWORKTOP_AIBOT_TOKEN",
        )

    @field_validator("aes_key")
    @classmethod
    def _aes_key_when_enabled(cls, value: SecretStr | None, info: ValidationInfo):
        return _required_when_enabled(
            value, info, AES_KEY_SHAPE, "the AI bot's EncodingAESKey: 43 letters and digits",
            "WEWORKTOP_AIBOT_AES_KEY",
        )


def _required_when_enabled(
    value: SecretStr | None, info: ValidationInfo, shape: str, what: str, env: str
) -> SecretStr | None:
    if value is None or not value.get_secret_value():
        if info.data.get("enabled"):
            raise ValueError(f"required when aibot.enabled is true (or set {env})")
        return None
    return _shaped(value, shape, what)



class WeWorkTopSettings(_Section):
    corp_id: str = Field(min_length=1)
    corp_secret: SecretStr
    agent_id: int
    token: SecretStr
    aes_key: SecretStr
    host: str = "0.0.0.0"
    port: int = Field(5001, ge=1, le=65535)
    callback_path: CallbackPath = "/wework_callback"
    api_base_url: str = "https://qyapi.weixin.qq.com"
    callback_max_skew_seconds: int = Field(300, ge=0)
    single_chat_prefix: list[str] = [""]
    single_chat_reply_prefix: str = ""
    group_chat_prefix: list[str] = []
    group_name_white_list: list[str] = []
    image_create_prefix: list[str] = []
    speech_recognition: bool = False
    group_memory: Literal["group", "member"] = "group"
    voice_off_reply: bool = True
    unsupported_reply: bool = True
    welcome_message: str = ""
    conversation_max_tokens: int = Field(4000, gt=0)
    max_single_msg_tokens: int = Field(1000, gt=0)
    workers: int = Field(16, ge=1, le=1024)
    api_timeout_seconds: float = Field(10.0, gt=0)
    rate_limit: RateLimitSettings | None = RateLimitSettings()
    lease_seconds: float = Field(30.0, ge=1)
    sweep_seconds: float = Field(2.0, gt=0)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    delivery_give_up_seconds: float = Field(3600.0, gt=0)
    aibot: AiBotSettings = AiBotSettings()

    @field_validator("aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr) -> SecretStr:
        return _shaped(value, AES_KEY_SHAPE, "the app's EncodingAESKey: 43 letters and digits")

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        return _shaped(value, TOKEN_SHAPE, "the app's callback Token: 1 to 32 letters and digits")

    @model_validator(mode="after")
    def _paths_differ(self) -> WeWorkTopSettings:
        if self.aibot.enabled and self.aibot.callback_path == self.callback_path:
            raise ValueError("aibot.callback_path must differ from callback_path")
        return self


class Services(_Section):
    channel_type: Literal["weworktop"] = "weworktop"
    weworktop: WeWorkTopSettings


class LlmSettings(_Section):
    provider: Literal["openai", "echo"] = "echo"
    base_url: str = "https://api.openai.com/v1"
    api_key: SecretStr | None = None
    model: str = "gpt-4o-mini"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    timeout_seconds: float = Field(60.0, gt=0)
    temperature: float | None = Field(None, ge=0, le=2)
    image_model: str = "dall-e-3"
    image_size: str = "1024x1024"
    speech_model: str = "whisper-1"


class ImageSettings(_Section):
    """Where pictures are drawn; each key left out is taken from `llm`."""

    provider: Literal["openai", "offline"] | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    size: str | None = None
    # Drawing takes far longer than chatting: tens of seconds are normal.
    timeout_seconds: float = Field(120.0, gt=0)


class SpeechSettings(_Section):
    """Where voice is transcribed; each key left out is taken from `llm`."""

    provider: Literal["openai", "none"] | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None


@dataclass(frozen=True)
class ModelEndpoint:
    provider: str
    base_url: str
    api_key: SecretStr | None
    model: str
    size: str | None = None


class StorageSettings(_Section):
    url: str = "sqlite:///data/weworktop.db"


class AdminSettings(_Section):
    enabled: bool = False
    # Validated even when absent, so that "enabled without a token" stops start-up.
    bearer_token: SecretStr | None = Field(None, validate_default=True)

    @field_validator("bearer_token")
    @classmethod
    def _token_when_enabled(cls, value: SecretStr | None, info: ValidationInfo):
        if value is None or not value.get_secret_value():
            if info.data.get("enabled"):
                raise ValueError(
                    "required when admin.enabled is true (or set WEWORKTOP_ADMIN_TOKEN)"
                )
            return None
        if len(value.get_secret_value()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"must be at least {MIN_ADMIN_TOKEN_CHARS} characters; use a long random value"
            )
        return value


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object per line, for log collectors.
    format: Literal["text", "json"] = "text"


class AppConfig(_Section):
    services: Services
    llm: LlmSettings = LlmSettings()
    image: ImageSettings = ImageSettings()
    speech: SpeechSettings = SpeechSettings()
    storage: StorageSettings = StorageSettings()
    admin: AdminSettings = AdminSettings()
    logging: LoggingSettings = LoggingSettings()

    @property
    def wecom(self) -> WeWorkTopSettings:
        return self.services.weworktop

    @property
    def image_endpoint(self) -> ModelEndpoint:
        """With a real chat model, pictures come from the same server; offline, they are
        drawn locally."""
        image, llm = self.image, self.llm
        return ModelEndpoint(
            provider=image.provider or ("openai" if llm.provider == "openai" else "offline"),
            base_url=image.base_url or llm.base_url,
            api_key=image.api_key or llm.api_key,
            model=image.model or llm.image_model,
            size=image.size or llm.image_size,
        )

    @property
    def speech_endpoint(self) -> ModelEndpoint:
        speech, llm = self.speech, self.llm
        return ModelEndpoint(
            provider=speech.provider or ("openai" if llm.provider == "openai" else "none"),
            base_url=speech.base_url or llm.base_url,
            api_key=speech.api_key or llm.api_key,
            model=speech.model or llm.speech_model,
        )


def load_config(
    path: Path, environ: Mapping[str, str] | None = None, *, check_permissions: bool = True
) -> tuple[AppConfig, list[str]]:
    """The validated configuration and the warnings about it (unknown keys, a file that
    holds secrets and that every user can read)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not readable JSON ({_plain(err)})") from None
    # Looked at before the environment's secrets are merged into `raw`.
    exposed = exposed_secrets_warnings(path, raw, SECRET_ENV) if check_permissions else []
    config, warnings = parse_config(
        raw, os.environ if environ is None else environ, source=str(path)
    )
    return config, warnings + exposed


def parse_config(
    raw: Any, environ: Mapping[str, str], source: str = "config"
) -> tuple[AppConfig, list[str]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a JSON object")
    _apply_secret_env(raw, environ)
    try:
        config = AppConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"{source}: {_first_error(err)}") from None
    return config, [f"{source}: {warning}" for warning in _unknown_keys(config)]


def _apply_secret_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for keys, names in SECRET_ENV.items():
        value = next((environ[name] for name in names if environ.get(name)), None)
        section: Any = raw
        for key in keys[:-1]:
            if value is None or not isinstance(section, dict):
                break
            section = section.setdefault(key, {})
        # A section of the wrong type is left alone: its validation error says what is wrong.
        if value is not None and isinstance(section, dict):
            section[keys[-1]] = value


def _first_error(err: ValidationError) -> str:
    # Only the location and message: pydantic's input echo could carry a secret.
    first = err.errors(include_input=False, include_url=False)[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"{key}: required key is missing"
    message = first["msg"].removeprefix("Value error, ")
    more = len(err.errors()) - 1
    return f"{key}: {message}" + (f" (and {more} more problems)" if more else "")


def _unknown_keys(model: BaseModel, prefix: str = "") -> list[str]:
    found = [f"unknown key '{prefix}{key}' is ignored" for key in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += _unknown_keys(value, f"{prefix}{name}.")
    return found


def _plain(err: Exception) -> str:
    return str(err).splitlines()[0][:200]
