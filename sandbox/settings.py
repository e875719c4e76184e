"""The service's configuration for a sandbox run: fresh random secrets every run, the sample
corp, the product example's chat rules, and the WeCom API at the emulator."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from sandbox.corp import Corp

STORAGE_URL = "sqlite:///data/sandbox.db"
# The model sections a sandbox takes from the operator's own configuration, if given.
MODEL_SECTIONS = ("llm", "image", "speech")


def _random(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class SandboxKeys:
    """Shared by the service and the emulator only, and never shown: repr hides them."""

    corp_secret: str = field(default_factory=lambda: _random(43), repr=False)
    token: str = field(default_factory=lambda: _random(32), repr=False)
    aes_key: str = field(default_factory=lambda: _random(43), repr=False)
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)


def service_config(
    corp: Corp,
    keys: SandboxKeys,
    service_port: int,
    emulator_url: str,
    models: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`models` holds the llm/image/speech sections to use; the offline model without."""
    return {
        "services": {
            "channel_type": "weworktop",
            "weworktop": {
                "corp_id": corp.corp_id,
                "corp_secret": keys.corp_secret,
                "agent_id": corp.agent_id,
                "token": keys.token,
                "aes_key": keys.aes_key,
                "host": "127.0.0.1",
                "port": service_port,
                "api_base_url": emulator_url,
                "single_chat_prefix": [""],
                "group_chat_prefix": list(corp.group_prefixes),
                "group_name_white_list": corp.whitelist,
                "image_create_prefix": ["画", "生成图片", "创建图像"],
                "speech_recognition": True,
                "conversation_max_tokens": 4000,
                "max_single_msg_tokens": 1000,
            },
        },
        **(models or {"llm": {"provider": "echo"}}),
        "storage": {"url": STORAGE_URL},
        "admin": {"enabled": True, "bearer_token": keys.admin_token},
    }
