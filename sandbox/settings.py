"""The service's configuration for a sandbox run: fresh random secrets every run, for every
channel its own, the sample corp's apps and bot, the product example's chat rules, and the
WeCom API at the emulator."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.corp import Assistant, Corp
from sandbox.socket_bot_chat import bot_id_of

# Where a sandbox keeps its events and its admin token: ./data of the folder it starts in.
DATA_DIR = Path("data")
# The model sections a sandbox takes from the operator's own configuration, if given.
MODEL_SECTIONS = ("llm", "image", "speech")


def _random(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class ChannelKeys:
    """One channel's secrets (a bot uses no corp_secret). Shared by the service and the
    emulator only, and never shown: repr hides them."""

    corp_secret: str = field(default_factory=lambda: _random(43), repr=False)
    token: str = field(default_factory=lambda: _random(32), repr=False)
    aes_key: str = field(default_factory=lambda: _random(43), repr=False)
    # A bot over the long connection signs in with its BotID and this Secret instead.
    bot_secret: str = field(default_factory=lambda: _random(43), repr=False)


@dataclass(frozen=True)
class SandboxKeys:
    channels: Mapping[str, ChannelKeys]  # by channel ("app:it")
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @classmethod
    def fresh(cls, corp: Corp) -> SandboxKeys:
        return cls({assistant.channel: ChannelKeys() for assistant in corp.assistants})


def transcribes(models: dict[str, Any]) -> bool:
    """Whether the model sections give the service a speech-to-text service, by the rule the
    README states: a `speech` section's provider, else the `llm` server when it is `openai`.
    Without one, voice is left off, and a voice clip gets the "voice is off" reply."""
    speech, llm = (models.get(name) for name in ("speech", "llm"))
    if isinstance(speech, dict) and speech.get("provider"):
        return speech["provider"] != "none"
    return isinstance(llm, dict) and llm.get("provider") == "openai"


def service_config(
    corp: Corp,
    keys: SandboxKeys,
    service_port: int,
    emulator_url: str,
    models: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`models` holds the llm/image/speech sections to use; the offline model without. The
    corp's first app is the seed's (top-level keys), the others are `apps` and `aibots`."""
    seed, *more_apps = corp.apps
    seed_keys = keys.channels[seed.channel]
    return {
        "services": {
            "channel_type": "weworktop",
            "weworktop": {
                "corp_id": corp.corp_id,
                "corp_secret": seed_keys.corp_secret,
                "agent_id": seed.agent_id,
                "token": seed_keys.token,
                "aes_key": seed_keys.aes_key,
                "host": "127.0.0.1",
                "port": service_port,
                "api_base_url": emulator_url,
                "single_chat_prefix": list(seed.private_prefixes),
                "group_chat_prefix": list(seed.group_prefixes),
                "group_name_white_list": corp.whitelist,
                "image_create_prefix": ["画", "生成图片", "创建图像"],
                "speech_recognition": transcribes(models or {}),
                # Pictures to any app or bot, files to the bot (README "Pictures and files").
                "image_understanding": True,
                "file_understanding": True,
                "conversation_max_tokens": 4000,
                "max_single_msg_tokens": 1000,
                "apps": [_app_entry(app, keys.channels[app.channel]) for app in more_apps],
                "aibots": [
                    _bot_entry(corp, bot, keys.channels[bot.channel], emulator_url)
                    for bot in corp.bots
                ],
            },
        },
        **(models or {"llm": {"provider": "echo"}}),
        # Absolute: the generated configuration lives in a temporary folder.
        "storage": {"url": f"sqlite:///{(DATA_DIR / 'sandbox.db').resolve()}"},
        "admin": {"enabled": True, "bearer_token": keys.admin_token},
    }


def _app_entry(app: Assistant, keys: ChannelKeys) -> dict[str, Any]:
    return {
        "name": app.config_name,
        "agent_id": app.agent_id,
        "corp_secret": keys.corp_secret,
        "token": keys.token,
        "aes_key": keys.aes_key,
        "callback_path": app.callback_path,
        "single_chat_prefix": list(app.private_prefixes),
        "group_chat_prefix": list(app.group_prefixes),
        "welcome_message": app.welcome,
        # Merged over the sandbox's model sections: the same model, asked as this app.
        **({"llm": {"system_prompt": app.system_prompt}} if app.system_prompt else {}),
    }


def _bot_entry(
    corp: Corp, bot: Assistant, keys: ChannelKeys, emulator_url: str
) -> dict[str, Any]:
    if bot.long_connection:
        sign_in = {
            "mode": "websocket",
            "bot_id": bot_id_of(bot.channel),
            "secret": keys.bot_secret,
            "ws_url": emulator_url.replace("http://", "ws://", 1) + "/",
        }
    else:
        sign_in = {"token": keys.token, "aes_key": keys.aes_key,
                   "callback_path": bot.callback_path}
    return {
        "name": bot.config_name,
        **sign_in,
        # WeCom does not tell a bot its groups' names: the white list holds their chat ids.
        "group_name_white_list": [g.chat_id for g in corp.groups if g.whitelisted],
    }
