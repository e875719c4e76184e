"""Secrets from the environment instead of config.json (they win over the file), so the file
can be shared without them.

Fixed keys have fixed names (SECRET_ENV). Each `apps` or `aibots` entry's secrets are named
after the entry: `WEWORKTOP_APP_HR_CORP_SECRET` for the app "hr", `WEWORKTOP_AIBOT_TEAM_TOKEN`
for the bot "team", `WEWORKTOP_AIBOT_TEAM_SECRET` for its long connection's Secret (the name
upper-cased, '-' as '_').
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    ("admin", "read_only_token"): ("WEWORKTOP_ADMIN_READ_ONLY_TOKEN",),
}

# The secret keys of each entry in these lists, and the prefix of their variables.
ENTRY_SECRETS = {
    "apps": ("WEWORKTOP_APP_", ("corp_secret", "token", "aes_key")),
    "aibots": ("WEWORKTOP_AIBOT_", ("token", "aes_key", "secret")),
}


def entry_variable(prefix: str, name: str, key: str) -> str:
    return f"{prefix}{name.upper().replace('-', '_')}_{key.upper()}"


def apply_secret_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for keys, names in SECRET_ENV.items():
        value = next((environ[name] for name in names if environ.get(name)), None)
        if value is not None:
            _put(raw, keys, value)
    services = raw.get("services")
    wecom = services.get("weworktop") if isinstance(services, dict) else None
    if not isinstance(wecom, dict):
        return
    for list_key, (prefix, secret_keys) in ENTRY_SECRETS.items():
        entries = wecom.get(list_key)
        for entry in entries if isinstance(entries, list) else ():
            # A malformed entry is left alone: its validation error says what is wrong.
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            for key in secret_keys:
                value = environ.get(entry_variable(prefix, entry["name"], key))
                if value:
                    entry[key] = value


def holds_a_secret(raw: Any) -> bool:
    """Whether the file itself (before the environment's values) holds any secret."""
    for keys in SECRET_ENV:
        if isinstance(_get(raw, keys), str) and _get(raw, keys):
            return True
    for list_key, (_prefix, secret_keys) in ENTRY_SECRETS.items():
        entries = _get(raw, ("services", "weworktop", list_key))
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and any(entry.get(key) for key in secret_keys):
                return True
    return False


def _get(raw: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        raw = raw.get(key) if isinstance(raw, dict) else None
    return raw


def _put(raw: dict[str, Any], keys: tuple[str, ...], value: str) -> None:
    section: Any = raw
    for key in keys[:-1]:
        if not isinstance(section, dict):
            return
        section = section.setdefault(key, {})
    # A section of the wrong type is left alone: its validation error says what is wrong.
    if isinstance(section, dict):
        section[keys[-1]] = value
