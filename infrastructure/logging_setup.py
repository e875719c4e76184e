"""Logging for the service: one line per record, with every secret redacted and no line a
caller can forge.

Two nets for secrets: the literal values of the configured secrets (and of each access token
as soon as this process sees it, through `redact_also`), and patterns for credentials whatever
their value (in URLs, JSON, Authorization headers, database URLs), for tokens not seen yet.

Values logged before authentication (a request's path, a reason quoting input) may carry CR,
LF, VT, U+2028 and the like, which terminals and log viewers take as line breaks: a caller
could write a line that looks like ours. Every logged value has them escaped (`\\r`,
`\\u2028`); only our own templates and tracebacks keep real line breaks.
"""

from __future__ import annotations

import logging
import numbers
import re
import time
from collections.abc import Callable, Hashable, Iterable, Mapping

from pythonjsonlogger.json import JsonFormatter

from application.pipeline.log_context import current_message

REDACTED = "[redacted]"

_CREDENTIAL_NAMES = (
    r"access_token|corpsecret|secret|api_?key|bearer_token|password|passwd|token|key"
    # The AI bot's response_url is a credential of its own (SECURITY.md).
    r"|response_url|response_code"
)
# A name that ends in a credential word is one too: db_password, client_secret, x-api-key.
_NAME = rf"[\w.-]*(?:{_CREDENTIAL_NAMES})"
_PATTERNS = (
    # query strings and key=value text: ...&access_token=XYZ, corpsecret=XYZ, db_password=XYZ
    (re.compile(rf"((?<![\w.-]){_NAME}=)[^&\s\"',;)]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # JSON and Python reprs: "access_token": "XYZ", 'db_api_key': 'XYZ'
    (
        re.compile(rf"""(["']{_NAME}["']\s*:\s*["'])[^"']+""", re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    # Authorization headers (as sent: capitalised, with a credential-sized value, so that
    # prose such as "no bearer token" stays readable)
    (re.compile(r"\b(Bearer|Basic) +[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # user:password@host in database and proxy URLs
    (re.compile(r"(://[^:/\s@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)

# What terminals, editors and log viewers may take as a line break or a cursor move: C0 and C1
# controls, DEL, and Unicode's line and paragraph separators. A tab is left as it is.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROLS_BUT_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

# Below INFO these libraries log SQL parameters, result rows and connection internals: message
# text, the access token on its way into and out of the shared cache, and (websockets) every
# frame of the AI bot's long connection, its subscribe with the bot's Secret among them.
_CHATTY_LIBRARIES = ("httpx", "httpcore", "sqlalchemy", "aiosqlite", "psycopg", "websockets")


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

    def without_secrets(self, text: str) -> str:
        """`text` with each known secret's value replaced, and nothing else changed."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def redact(self, text: str) -> str:
        text = self.without_secrets(text)
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


class EscapeControls(logging.Filter):
    """Escapes control characters before a record becomes a line: all of them in the logged
    values (the arguments), all but the newline in the template and the traceback, which are
    ours and may span lines. Runs before the redactor, which then joins them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            record.args = {key: _escaped(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_escaped(value) for value in record.args)
        record.msg = _escape(str(record.msg), _CONTROLS_BUT_NEWLINE)
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = _escape(record.exc_text, _CONTROLS_BUT_NEWLINE)
        if record.stack_info:
            record.stack_info = _escape(record.stack_info, _CONTROLS_BUT_NEWLINE)
        return True


def _escaped(value: object) -> object:
    # Numbers stay numbers for %d and %.1f; anything else is logged as its escaped text.
    if isinstance(value, numbers.Number) or value is None:
        return value
    return _escape(str(value), _CONTROLS)


def _escape(text: str, controls: re.Pattern[str]) -> str:
    return controls.sub(lambda match: ascii(match.group())[1:-1], text)


class RepeatedLines(logging.Filter):
    """Samples lines that anyone can cause, so that a flood of bad requests cannot fill the
    disk: per kind, the first line in each `interval_seconds` is written, the rest are only
    counted, and the next line of that kind written says how many were left out.

    A kind is the `repeat_key` a caller gives the record (`extra={"repeat_key": ...}`: the
    callback's refusals by status, code and reason, the admin guard's); for uvicorn's own
    warnings about malformed HTTP, its template; for any line with a traceback, its logger,
    template and exception class. At most `max_kinds` kinds are tracked; beyond
    that, lines of new kinds are counted together.

    A kind's traceback is written once: its later lines say so instead of repeating ~30
    lines each time (a store outage answers thousands of callbacks with 503). A failure that
    `is_outage` recognises (the store unavailable) is told in one line, never a traceback:
    where it happened is no news, and an outage meets it in every part of the service."""

    def __init__(
        self,
        interval_seconds: float = 60.0,
        max_kinds: int = 1024,
        clock: Callable[[], float] = time.monotonic,
        is_outage: Callable[[BaseException], str | None] = lambda _: None,
    ):
        super().__init__()
        self._is_outage = is_outage
        self._interval = interval_seconds
        self._max_kinds = max_kinds
        self._clock = clock
        self._kinds: dict[Hashable, list[float | int]] = {}  # kind -> [window end, left out]
        self._traced: set[Hashable] = set()  # kinds whose traceback was written

    def filter(self, record: logging.LogRecord) -> bool:
        kind = _repeat_kind(record)
        if kind is None:
            return True
        now = self._clock()
        if kind not in self._kinds and len(self._kinds) >= self._max_kinds:
            self._forget_quiet(now)
            if len(self._kinds) >= self._max_kinds:
                kind = "other kinds"
        window = self._kinds.get(kind)
        if window is not None and now < window[0]:
            window[1] += 1
            return False
        left_out = window[1] if window is not None else 0
        self._kinds[kind] = [now + self._interval, 0]
        if left_out:
            _append(record, f"(and {left_out} more like it not written)")
        self._trace_once(kind, record)
        return True

    def _trace_once(self, kind: Hashable, record: logging.LogRecord) -> None:
        if not (record.exc_info or record.exc_text):
            return
        outage = record.exc_info and record.exc_info[1] and self._is_outage(record.exc_info[1])
        if outage:
            record.exc_info = record.exc_text = None
            _append(record, f"({outage})")
        elif kind in self._traced:
            record.exc_info = record.exc_text = None
            _append(record, "(traceback written the first time)")
        elif len(self._traced) < self._max_kinds:
            self._traced.add(kind)

    def _forget_quiet(self, now: float) -> None:
        quiet = [k for k, (end, left_out) in self._kinds.items() if end <= now and not left_out]
        for kind in quiet:
            del self._kinds[kind]


def _append(record: logging.LogRecord, text: str) -> None:
    # The line is still a template when it has arguments: a "%" in the added text (a
    # driver's words) must stay text, not take an argument.
    if record.args:
        text = text.replace("%", "%%")
    record.msg = f"{record.msg} {text}"


def _repeat_kind(record: logging.LogRecord) -> Hashable | None:
    kind = getattr(record, "repeat_key", None)
    if kind is not None:
        return kind
    if record.name.startswith("uvicorn") and record.levelno == logging.WARNING:
        return (record.name, str(record.msg))
    if record.exc_info and record.exc_info[0] is not None:
        # The same failure again (a sweep, a worker, a renewal while the store is down).
        return (record.name, str(record.msg), record.exc_info[0].__name__)
    return None


def _worth_redacting(secret: str | None) -> bool:
    # A very short value would blank out ordinary words wherever it happens to occur.
    return bool(secret) and len(secret) >= 4


_active: SecretRedactor | None = None


def redact_also(secret: str) -> None:
    """Adds a secret learnt at run time (an access token) to the redactor in use, if any."""
    if _active is not None:
        _active.add(secret)


def secrets_masked(text: str) -> str:
    """`text` without the value of any secret or access token the redactor in use knows.
    The audit export masks with it: exact values only, so its JSON stays JSON."""
    return text if _active is None else _active.without_secrets(text)


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
    secrets: Iterable[str],
    level: str = "INFO",
    json_lines: bool = False,
    is_outage: Callable[[BaseException], str | None] = lambda _: None,
) -> None:
    """`is_outage`: names an exception that means the store is unavailable (one line, no
    traceback), None for any other."""
    global _active
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(json_lines))
    _active = SecretRedactor(secrets)
    handler.addFilter(RepeatedLines(is_outage=is_outage))
    handler.addFilter(EscapeControls())
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
