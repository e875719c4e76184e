"""Mistakes in a configuration, told in this project's words: every one at once, one line
each, naming the key and what was found there, never a secret's value. Written for any
section, so that a new one (a list of apps, say) is covered without more code."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from infrastructure.secret_env import ENTRY_SECRETS, SECRET_ENV

# Keys whose values are never shown, only their kind and length.
SECRET_KEYS = frozenset(
    [keys[-1] for keys in SECRET_ENV] + [key for _, keys in ENTRY_SECRETS.values() for key in keys]
)

# The shipped example's stand-ins for what only WeCom's admin console can give, and what
# belongs there instead. A service started on them would take callbacks forged by anyone who
# has read the example, so they stop start-up wherever they appear.
EXAMPLE_PLACEHOLDERS = {
    "ww0000000000000000": "your CorpID (My Company in the WeCom admin console)",
    "replace-with-the-app-secret": "the app's Secret",
    "ReplaceWithYourToken": "the Token set under the app's Receive messages",
    "ReplaceWithTheFortyThreeCharEncodingAESKey0": "the EncodingAESKey set under the app's "
    "Receive messages",
}


def placeholder_problems(raw: Any, key: tuple[str | int, ...] = ()) -> list[str]:
    """Every key, at any depth, that still holds one of the example's placeholders."""
    if isinstance(raw, dict | list):
        items = raw.items() if isinstance(raw, dict) else enumerate(raw)
        return [
            found for name, value in items for found in placeholder_problems(value, (*key, name))
        ]
    if isinstance(raw, str) and raw in EXAMPLE_PLACEHOLDERS:
        instead = EXAMPLE_PLACEHOLDERS[raw]
        return [f"{_dotted(key)}: still the example's placeholder; put {instead} here"]
    return []


# What each kind of pydantic error means, in the words of this project's README.
_MUST_BE = {
    "missing": "required key is missing",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string (in double quotes)",
    "list_type": "must be a list [...]",
    "dict_type": "must be an object {{...}}",
    "model_type": "must be an object {{...}}",
    "literal_error": "must be one of {expected}",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must not be empty",
}


def validation_problems(err: ValidationError) -> list[str]:
    """Every problem pydantic found, one line each: the key, what it must be, and what was
    found (for a secret's key, only the kind and length of its value)."""
    problems = []
    for error in err.errors(include_url=False):
        key = _dotted(error["loc"])
        if error["type"] == "value_error":  # our own validators' words
            message = error["msg"].removeprefix("Value error, ")
            # A check of the whole configuration names its keys itself.
            problems.append(f"{key}: {message}" if key else message)
            continue
        ctx = {name: _plain(value) for name, value in error.get("ctx", {}).items()}
        must = _MUST_BE.get(error["type"], "is not a valid value").format(**ctx)
        found = "" if error["type"] == "missing" else f"; found {_found(error)}"
        problems.append(f"{key}: {must}{found}")
    return problems


def _plain(limit: Any) -> str:
    """A limit as the file would write it: 2, not 2.0; "echo", not 'echo'."""
    return f"{limit:g}" if isinstance(limit, float) else str(limit).replace("'", '"')


def _found(error: Any) -> str:
    """What the file holds at the key, in JSON's words."""
    value = error["input"]
    secret = bool(error["loc"]) and error["loc"][-1] in SECRET_KEYS
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    if isinstance(value, str) and secret:
        return f"a string of {len(value)} characters"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:60] + "…"
        return "the string " + json.dumps(shown, ensure_ascii=False)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number" if secret else f"the number {value}"
    return json.dumps(value, default=str)


def _dotted(loc: Any) -> str:
    """A key as the project names it: services.weworktop.port, services.weworktop.apps.0.token."""
    return ".".join(str(part) for part in loc)
