"""config.json: the product's documented keys, their defaults, and one clear line per mistake.

Secrets may come from the environment instead of the file (and then win over it), so the
file can be shared without them. Types are strict ("5001" is not a port, "yes" is not true),
and every mistake of a file is reported at once, each naming its key and what was found.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from domain import notices
from infrastructure.channel_settings import (
    DEFAULT_WS_URL,
    ChannelSettings,
    ModelEndpoint,
    image_endpoint,
    resolve_channels,
    speech_endpoint,
)
from infrastructure.config_permissions import exposed_secrets_warnings
from infrastructure.config_problems import placeholder_problems, validation_problems
from infrastructure.secret_env import apply_secret_env, holds_a_secret

DEFAULT_SYSTEM_PROMPT = (
    "你是企业微信里的智能助手，回答准确、简洁、友好。"
    "You are a helpful assistant inside WeCom: accurate, concise and friendly."
)


# WeCom's callback Token and EncodingAESKey, for the app and the AI bot alike.
TOKEN_SHAPE = r"[A-Za-z0-9]{1,32}"
AES_KEY_SHAPE = r"[A-Za-z0-9]{43}"


def _shaped(value: SecretStr, shape: str, what: str) -> SecretStr:
    revealed = value.get_secret_value()
    if not re.fullmatch(shape, revealed):
        # Its length and kind of characters, never the value: it is a secret.
        odd = "" if revealed.isascii() and revealed.isalnum() else ", not all letters and digits"
        raise ValueError(f"must be {what}; found {len(revealed)} characters{odd}")
    return value


def _from_root(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError("must start with '/'")
    return path


CallbackPath = Annotated[str, AfterValidator(_from_root)]


def _channel_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_-]{1,32}", name):
        raise ValueError(f"'{name[:40]}' is not 1 to 32 of a-z, 0-9, '_' and '-'")
    return name


ChannelName = Annotated[str, AfterValidator(_channel_name)]

# A bearer token anyone could guess in a few tries would make the admin surface public.
MIN_ADMIN_TOKEN_CHARS = 16


class ConfigError(Exception):
    """Configuration mistakes of one file, one line each naming the key."""

    def __init__(self, source: str, problems: list[str]):
        self.lines = [f"{source}: {problem}" for problem in problems]
        super().__init__("\n".join(self.lines))


class _Section(BaseModel):
    # Strict: a JSON file states its types plainly, and a quoted number or a "yes" taken
    # silently would hide a mistake. Unknown keys are kept to be warned about, not rejected.
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class RateLimitSettings(_Section):
    """Model calls per sender: `messages` every `per_seconds`; 0 messages turns it off."""

    messages: int = Field(20, ge=0)
    per_seconds: float = Field(60.0, gt=0)


class AccessSettings(_Section):
    """Who may ask the channel (domain.access): deny lists win, empty allow lists admit all."""

    allow_users: list[str] = []
    deny_users: list[str] = []
    allow_departments: list[int] = []
    deny_departments: list[int] = []
    denied_reply: str = ""


class QuotaSettings(_Section):
    """Tokens the models may spend per member a day and per department a month (UTC); 0: no
    limit. Counted in the store, so shared by every instance."""

    member_tokens_per_day: int = Field(0, ge=0)
    department_tokens_per_month: int = Field(0, ge=0)


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



# WeCom's largest media (a file): nothing larger is ever fetched.
MEDIA_MAX_BYTES = 20_000_000


class RuleSettings(_Section):
    """The product's rule keys: at the top level they are every channel's defaults, in an
    `apps` or `aibots` entry they override those for that channel alone."""

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
    rate_limit: RateLimitSettings | None = RateLimitSettings()
    access: AccessSettings = AccessSettings()
    quota: QuotaSettings = QuotaSettings()
    # Pictures and files (README, "Pictures and files"): off unless turned on.
    image_understanding: bool = False
    image_prompt: str = Field(notices.IMAGE_PROMPT, min_length=1)
    file_understanding: bool = False
    file_prompt: str = Field(notices.FILE_PROMPT, min_length=1)
    max_image_bytes: int = Field(10_000_000, gt=0, le=MEDIA_MAX_BYTES)
    max_file_bytes: int = Field(20_000_000, gt=0, le=MEDIA_MAX_BYTES)
    max_prompt_images: int = Field(4, ge=1, le=16)
    # How a self-built app's answers are sent: "markdown" only renders in the WeCom client,
    # not in the WeChat plugin. An AI bot always answers in markdown.
    reply_format: Literal["text", "markdown"] = "text"


RULE_KEYS = tuple(RuleSettings.model_fields)


class ChannelEntry(RuleSettings):
    """What every `apps` and `aibots` entry has besides its keys: a name, a path, and model
    sections merged over the top-level ones (`llm`, `image`, `speech`)."""

    name: ChannelName
    callback_path: CallbackPath | None = None
    llm: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    speech: dict[str, Any] | None = None


class SignedChannelEntry(ChannelEntry):
    """A channel whose callbacks WeCom signs and encrypts with the channel's own keys."""

    token: SecretStr
    aes_key: SecretStr

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        return _token(value)

    @field_validator("aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr) -> SecretStr:
        return _aes_key(value)


# The same keys where they may be left out (the seed's app, an AI bot in websocket mode).
OptionalToken = Annotated[
    SecretStr | None, AfterValidator(lambda value: None if value is None else _token(value))
]
OptionalAesKey = Annotated[
    SecretStr | None, AfterValidator(lambda value: None if value is None else _aes_key(value))
]


class AppEntry(SignedChannelEntry):
    """One more self-built app (自建应用), with its own secret and callback keys."""

    agent_id: int
    corp_secret: SecretStr
    corp_id: str | None = Field(None, min_length=1)


class AiBotEntry(ChannelEntry):
    """One more AI bot (智能机器人). In mode "callback" (API mode) WeCom calls its callback_path,
    signed with its Token and EncodingAESKey; in mode "websocket" (long connection) the service
    dials out to WeCom with its BotID and Secret, and needs no public URL."""

    mode: Literal["callback", "websocket"] = "callback"
    token: OptionalToken = None
    aes_key: OptionalAesKey = None
    bot_id: str | None = Field(None, min_length=1, max_length=128)
    secret: SecretStr | None = None
    ws_url: str = Field(DEFAULT_WS_URL, pattern=r"^wss?://")
    heartbeat_seconds: float = Field(30.0, ge=1, le=300)
    show_thinking: bool = False
    # Callback mode: how long a stream stays open. Websocket mode: how long a message's req_id
    # is answered with stream frames; later answers are sent on the bot's own.
    stream_seconds: float = Field(300.0, ge=10, le=340)

    @model_validator(mode="after")
    def _keys_of_its_mode(self) -> AiBotEntry:
        missing = [key for key in _MODE_KEYS[self.mode] if getattr(self, key) is None]
        if missing:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [InitErrorDetails(type="missing", loc=(key,), input=None) for key in missing],
            )
        foreign = [
            key
            for mode, keys in _MODE_ONLY_KEYS.items()
            if mode != self.mode
            for key in keys
            if key in self.model_fields_set
        ]
        if foreign:
            raise ValueError(
                f"{', '.join(foreign)}: not used in mode '{self.mode}', which takes "
                f"{' and '.join(_MODE_KEYS[self.mode])}"
            )
        return self


# What each mode of an AI bot needs (WECOM.md): the callback's keys, or the long connection's;
# and the keys that mean nothing in the other mode, refused so that a half-switched entry is
# noticed at start-up.
_MODE_KEYS = {"callback": ("token", "aes_key"), "websocket": ("bot_id", "secret")}
_MODE_ONLY_KEYS = {
    "callback": ("token", "aes_key", "callback_path"),
    "websocket": ("bot_id", "secret", "ws_url", "heartbeat_seconds"),
}


class WeWorkTopSettings(RuleSettings):
    # The seed's single app (the channel "app:default"); optional once `apps` lists others.
    corp_id: str | None = Field(None, min_length=1)
    corp_secret: SecretStr | None = None
    agent_id: int | None = None
    token: OptionalToken = None
    aes_key: OptionalAesKey = None
    host: str = "0.0.0.0"
    port: int = Field(5001, ge=1, le=65535)
    # HTTPS served directly: a PEM certificate (with its chain) and its key, both or neither;
    # a path is taken from the configuration file's folder.
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    callback_path: CallbackPath = "/wework_callback"
    api_base_url: str = "https://qyapi.weixin.qq.com"
    callback_max_skew_seconds: int = Field(300, ge=0)
    workers: int = Field(16, ge=1, le=1024)
    api_timeout_seconds: float = Field(10.0, gt=0)
    lease_seconds: float = Field(30.0, ge=1)
    sweep_seconds: float = Field(2.0, gt=0)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    delivery_give_up_seconds: float = Field(3600.0, gt=0)
    # Before any request is authenticated: its request line and headers, and open connections.
    max_header_bytes: int = Field(16 * 1024, ge=4096, le=1024 * 1024)
    max_connections: int = Field(1000, ge=1)
    aibot: AiBotSettings = AiBotSettings()
    apps: list[AppEntry] = []
    aibots: list[AiBotEntry] = []

    @model_validator(mode="wrap")
    @classmethod
    def _seed_app_whole(cls, data: Any, handler: Any) -> WeWorkTopSettings:
        """The top-level app is all four keys or none (then `apps` or `aibots` must say what
        to serve): one given means the others, and corp_id, are missing, as in the seed's
        configuration. Told together with the other keys' mistakes, not after them."""
        given = data if isinstance(data, dict) else {}
        seed_keys = ("corp_secret", "agent_id", "token", "aes_key")
        missing = [
            InitErrorDetails(type="missing", loc=(key,), input=given)
            for key in ("corp_id", *seed_keys)
            if given.get(key) is None and any(given.get(seed) is not None for seed in seed_keys)
        ]
        try:
            settings = handler(data)
        except ValidationError as err:
            if not missing:
                raise
            raise ValidationError.from_exception_data(
                cls.__name__, [*missing, *_details(err)]
            ) from None
        if missing:
            raise ValidationError.from_exception_data(cls.__name__, missing)
        return settings

    @model_validator(mode="after")
    def _tls_files_together(self) -> WeWorkTopSettings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(
                "ssl_certfile and ssl_keyfile go together: set both to serve HTTPS, or neither"
            )
        return self

    @property
    def has_seed_app(self) -> bool:
        return self.agent_id is not None

    @property
    def rules(self) -> RuleSettings:
        return RuleSettings(**{key: getattr(self, key) for key in RULE_KEYS})


def _details(err: ValidationError) -> list[InitErrorDetails]:
    """`err`'s errors, to be raised again among others."""
    return [
        InitErrorDetails(
            type=error["type"], loc=error["loc"], input=error["input"], ctx=error.get("ctx", {})
        )
        for error in err.errors()
    ]


def _token(value: SecretStr) -> SecretStr:
    return _shaped(value, TOKEN_SHAPE, "WeCom's callback Token: 1 to 32 letters and digits")


def _aes_key(value: SecretStr) -> SecretStr:
    return _shaped(value, AES_KEY_SHAPE, "WeCom's EncodingAESKey: 43 letters and digits")


class Services(_Section):
    channel_type: Literal["weworktop"] = "weworktop"
    weworktop: WeWorkTopSettings


class PriceSettings(_Section):
    """What the model server charges (any currency), for the estimated cost of usage."""

    input_per_1k: float = Field(0.0, ge=0)
    output_per_1k: float = Field(0.0, ge=0)
    per_picture: float = Field(0.0, ge=0)
    per_audio_minute: float = Field(0.0, ge=0)


class LlmSettings(_Section):
    provider: Literal["openai", "echo"] = "echo"
    base_url: str = "https://api.openai.com/v1"
    api_key: SecretStr | None = None
    model: str = "gpt-4o-mini"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    timeout_seconds: float = Field(60.0, gt=0)
    # The whole of one streamed answer (the AI bot's), however the server trickles it.
    answer_timeout_seconds: float = Field(600.0, gt=0)
    # Calls at the model server at once (vLLM's default batch is 256 sequences); the rest wait.
    max_concurrency: int = Field(256, ge=1, le=100_000)
    # A call that has not begun to answer by then is given up on (a hung server); for a call
    # answered whole, "begun" means its answer's headers, which come with the whole answer.
    first_token_timeout_seconds: float = Field(30.0, gt=0)
    # Opt-in: a second identical call after this long without a first token; the first to
    # answer is kept.
    hedge_after_seconds: float | None = Field(None, gt=0)
    temperature: float | None = Field(None, ge=0, le=2)
    # The model for requests that show pictures (None: `model`, which must then see them).
    vision_model: str | None = Field(None, min_length=1)
    image_model: str = "dall-e-3"
    image_size: str = "1024x1024"
    speech_model: str = "whisper-1"
    price: PriceSettings = PriceSettings()

    @model_validator(mode="after")
    def _hedge_before_giving_up(self) -> LlmSettings:
        hedge = self.hedge_after_seconds
        if hedge is not None and hedge >= self.first_token_timeout_seconds:
            raise ValueError(
                "hedge_after_seconds must be less than first_token_timeout_seconds, "
                "or the second call would never be made"
            )
        return self


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


class MediaSettings(_Section):
    """How long fetching and reading one picture or file may take, and how much memory the
    reading of a file may use (it runs in a process of its own, stopped at the limits)."""

    download_seconds: float = Field(60.0, gt=0, le=290)
    extract_seconds: float = Field(30.0, gt=0, le=600)
    extract_memory_mb: int = Field(768, ge=128)


class StorageSettings(_Section):
    url: str = "sqlite:///data/weworktop.db"
    # Content (messages, answers, transcripts) older than this is removed daily; None keeps it.
    retention_days: int | None = Field(None, ge=1)
    # Where callbacks' messages wait while the store is unavailable (README, "Store outages"):
    # a SQLite file; by default beside the SQLite database, or data/spool.db for PostgreSQL.
    spool_path: str | None = Field(None, min_length=1)
    # Beyond this many waiting messages callbacks get 503 again, and WeCom retries them.
    spool_max_messages: int = Field(50_000, ge=1)
    # Below this much free space where the database (SQLite) or the spool writes, /readyz says
    # "degraded" with ACTION NEEDED, before a message cannot be recorded; 0 turns it off.
    min_free_mib: int = Field(256, ge=0)

    def local_files(self) -> list[Path]:
        """The files the service writes on this machine: a SQLite database, and the spool."""
        database = self._sqlite_file()
        return [database, self.spool_file()] if database else [self.spool_file()]

    def spool_file(self) -> Path:
        if self.spool_path is not None:
            return Path(self.spool_path)
        database = self._sqlite_file()
        return database.with_name("spool.db") if database else Path("data/spool.db")

    def _sqlite_file(self) -> Path | None:
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database)
        return None

    @field_validator("url")
    @classmethod
    def _a_database_url(cls, url: str) -> str:
        try:
            make_url(url)
        except ArgumentError:
            # Not echoed: a database URL may hold a password.
            raise ValueError(
                "must be a database URL such as sqlite:///data/weworktop.db or "
                "postgresql://user@host/db"
            ) from None
        return url


class AdminSettings(_Section):
    enabled: bool = False
    # Validated even when absent, so that "enabled without a token" stops start-up.
    bearer_token: SecretStr | None = Field(None, validate_default=True)
    # /readyz and /metrics need the bearer token too (only when the surface is enabled).
    protect_probes: bool = True
    # For dashboards: GET and HEAD only, so it can neither erase nor send.
    read_only_token: SecretStr | None = None

    @property
    def guards_probes(self) -> bool:
        return self.enabled and self.protect_probes

    @field_validator("read_only_token")
    @classmethod
    def _read_only_shape(cls, value: SecretStr | None, info: ValidationInfo):
        if value is None or not value.get_secret_value():
            return None
        _long_enough(value)
        token = info.data.get("bearer_token")
        if token is not None and token.get_secret_value() == value.get_secret_value():
            raise ValueError("must differ from bearer_token")
        return value

    @field_validator("bearer_token")
    @classmethod
    def _token_when_enabled(cls, value: SecretStr | None, info: ValidationInfo):
        if value is None or not value.get_secret_value():
            if info.data.get("enabled"):
                raise ValueError(
                    "required when admin.enabled is true (or set WEWORKTOP_ADMIN_TOKEN)"
                )
            return None
        return _long_enough(value)


def _long_enough(token: SecretStr) -> SecretStr:
    if len(token.get_secret_value()) < MIN_ADMIN_TOKEN_CHARS:
        raise ValueError(
            f"must be at least {MIN_ADMIN_TOKEN_CHARS} characters; use a long random value"
        )
    return token


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object per line, for log collectors.
    format: Literal["text", "json"] = "text"


class AppConfig(_Section):
    services: Services
    llm: LlmSettings = LlmSettings()
    image: ImageSettings = ImageSettings()
    speech: SpeechSettings = SpeechSettings()
    media: MediaSettings = MediaSettings()
    storage: StorageSettings = StorageSettings()
    admin: AdminSettings = AdminSettings()
    logging: LoggingSettings = LoggingSettings()

    @property
    def wecom(self) -> WeWorkTopSettings:
        return self.services.weworktop

    _channels: tuple[ChannelSettings, ...] = PrivateAttr(())

    @model_validator(mode="after")
    def _resolve_channels(self) -> AppConfig:
        self._channels = resolve_channels(self.wecom, self.llm, self.image, self.speech)
        return self

    @property
    def channels(self) -> tuple[ChannelSettings, ...]:
        """Every configured app and bot, in the order of the file."""
        return self._channels

    @property
    def image_endpoint(self) -> ModelEndpoint:
        return image_endpoint(self.llm, self.image)

    @property
    def speech_endpoint(self) -> ModelEndpoint:
        return speech_endpoint(self.llm, self.speech)


def load_config(
    path: Path, environ: Mapping[str, str] | None = None, *, check_permissions: bool = True
) -> tuple[AppConfig, list[str]]:
    """The validated configuration and the warnings about it (unknown keys, a file that
    holds secrets and that every user can read)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), ["no such configuration file"]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(str(path), [f"not readable JSON ({_plain(err)})"]) from None
    # Looked at before the environment's secrets are merged into `raw`.
    exposed = exposed_secrets_warnings(path, holds_a_secret(raw)) if check_permissions else []
    config, warnings = parse_config(
        raw, os.environ if environ is None else environ, source=str(path)
    )
    return _paths_beside(config, path.parent), warnings + exposed


def parse_config(
    raw: Any, environ: Mapping[str, str], source: str = "config"
) -> tuple[AppConfig, list[str]]:
    if not isinstance(raw, dict):
        raise ConfigError(source, ["the top level must be a JSON object"])
    apply_secret_env(raw, environ)
    problems = placeholder_problems(raw)
    try:
        config = AppConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(source, validation_problems(err) + problems) from None
    if problems:
        raise ConfigError(source, problems)
    return config, [f"{source}: {warning}" for warning in _unknown_keys(config)]


def _paths_beside(config: AppConfig, folder: Path) -> AppConfig:
    """Relative paths of the file (a SQLite database, the TLS files) are taken from its
    folder, not from wherever the service happens to be started."""
    wecom, folder = config.wecom, folder.resolve()
    tls = {
        key: str(folder / value)
        for key, value in (("ssl_certfile", wecom.ssl_certfile), ("ssl_keyfile", wecom.ssl_keyfile))
        if value
    }
    services = config.services.model_copy(update={"weworktop": wecom.model_copy(update=tls)})
    storage = config.storage.model_copy(update={"url": _sqlite_beside(config.storage.url, folder)})
    storage = storage.model_copy(update={"spool_path": str(folder / storage.spool_file())})
    return config.model_copy(update={"services": services, "storage": storage})


def _sqlite_beside(storage_url: str, folder: Path) -> str:
    url = make_url(storage_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return storage_url
    return url.set(database=str(folder / database)).render_as_string(hide_password=False)


def _unknown_keys(model: BaseModel, prefix: str = "") -> list[str]:
    found = [f"unknown key '{prefix}{key}' is ignored" for key in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += _unknown_keys(value, f"{prefix}{name}.")
    return found


def _plain(err: Exception) -> str:
    return str(err).splitlines()[0][:200]
