"""Logging for the service: one line per record, with every secret redacted.

Two nets: the literal values of the configured secrets (and of each access token as soon as
this process sees it, through `redact_also`), and patterns for credentials whatever their
value (in URLs, JSON, Authorization headers, database URLs), for tokens not seen yet.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from pythonjsonlogger.json import JsonFormatter

from application.pipeline.log_context import current_message

REDACTED = "[redacted]"

_CREDENTIAL_NAMES = r"access_token|corpsecret|secret|api_?key|bearer_token|password|token|key"
_PATTERNS = (
    # query strings and key=value text: ...&access_token=XYZ, corpsecret=XYZ
    (re.compile(rf"\b((?:{_CREDENTIAL_NAMES})=)[^&\s\"',;)]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # JSON and Python reprs: "access_token": "XYZ", 'api_key': 'XYZ'
    (
        re.compile(rf"""(["'](?:{_CREDENTIAL_NAMES})["']\s*:\s*["'])[^"']+""", re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    # Authorization headers (as sent: capitalised, with a credential-sized value, so that
    # prose such as "no bearer token" stays readable)
    (re.compile(r"\b(Bearer|Basic) +[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # user:password@host in database and proxy URLs
    (re.compile(r"(://[^:/\s@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)

# Below INFO these libraries log SQL parameters, result rows and connection internals: message
# text, and the access token on its way into and out of the shared cache.
_CHATTY_LIBRARIES = ("httpx", "httpcore", "sqlalchemy", "aiosqlite", "psycopg")


class SecretRedactor(logging.Filter):
    """Rewrites each record's final message (and traceback) so that no secret survives in it."""

    # Access tokens live two hours, so a dozen a day are learnt; the newest few are enough to
    # redact, and every secret kept costs a pass over each line.
    LEARNT_KEPT = 32

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self._configured = frozenset(s for s in secrets if _worth_redacting(s))
        self._learnt: tuple[str, ...] = ()
        self._secrets = self._ordered()

    def add(self, secret: str) -> None:
        """Redact `secret` (learnt at run time) from now on. Safe from any thread: records are
        filtered in the thread that logs them (aiosqlite logs from its own), so the tuples
        are swapped whole."""
        if not _worth_redacting(secret) or secret in self._secrets:
            return
        self._learnt = (*self._learnt, secret)[-self.LEARNT_KEPT :]
        self._secrets = self._ordered()

    def _ordered(self) -> tuple[str, ...]:
        # Longest first, so a secret that contains another is removed whole.
        return tuple(sorted({*self._configured, *self._learnt}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # Bad arguments would make the handler print them raw; keep only the template.
            message = str(record.msg)
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        elif record.exc_text:
            message += "\n" + record.exc_text
        if record.stack_info:
            message += "\n" + record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        record.msg, record.args = self.redact(message), None
        return True


def _worth_redacting(secret: str | None) -> bool:
    # A very short value would blank out ordinary words wherever it happens to occur.
    return bool(secret) and len(secret) >= 4


_active: SecretRedactor | None = None


def redact_also(secret: str) -> None:
    """Adds a secret learnt at run time (an access token) to the redactor in use, if any."""
    if _active is not None:
        _active.add(secret)


class MessageTag(logging.Filter):
    """Puts the id of the message being worked on into every record, to follow one message
    from its callback to its reply: `message_id` for JSON, `message_tag` for text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.message_id = current_message.get()
        record.message_tag = f" [{record.message_id}]" if record.message_id else ""
        return True


def _formatter(json_lines: bool) -> logging.Formatter:
    if json_lines:
        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(message_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s%(message_tag)s: %(message)s")


def configure_logging(
    secrets: Iterable[str], level: str = "INFO", json_lines: bool = False
) -> None:
    global _active
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(json_lines))
    _active = SecretRedactor(secrets)
    handler.addFilter(_active)
    handler.addFilter(MessageTag())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's loggers keep their own handlers; route them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
