"""No secret reaches a log line: configured values, access tokens learnt at run time, and
credentials in URLs, JSON and headers whatever their value, in messages and tracebacks."""

from __future__ import annotations

import logging

import pytest

from application.ports.shared_state import CachedToken
from infrastructure import logging_setup
from infrastructure.logging_setup import (
    REDACTED,
    EscapeControls,
    SecretRedactor,
    configure_logging,
    redact_also,
)
from infrastructure.token_redaction import TokenRedactingCache
from tests.fakes.token_cache import InMemoryAccessTokenCache

CORP_SECRET = "corp-secret-value-0123456789"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logged():
    """A logger whose records go through a redactor, and the lines it wrote."""
    redactor = SecretRedactor([CORP_SECRET, AES_KEY])
    handler = Lines()
    handler.addFilter(redactor)
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler.lines, redactor
    logger.removeHandler(handler)


def test_configured_secrets_are_redacted_in_messages_and_arguments(logged):
    logger, lines, _ = logged
    logger.info("secret %s and key " + AES_KEY, CORP_SECRET)
    assert lines == [f"secret {REDACTED} and key {REDACTED}"]


def test_secrets_in_exceptions_and_tracebacks_are_redacted(logged):
    logger, lines, _ = logged
    try:
        raise RuntimeError(f"gettoken failed for corpsecret {CORP_SECRET}")
    except RuntimeError:
        logger.exception("while fetching")
    [line] = lines
    assert "Traceback" in line and "RuntimeError: gettoken failed" in line
    assert CORP_SECRET not in line


def test_stack_traces_are_redacted_too(logged):
    logger, lines, _ = logged
    stack = f'Stack (most recent call last):\n  fetch(secret="{CORP_SECRET}")'
    logger.handle(logger.makeRecord(logger.name, logging.WARNING, "f", 1, "look", (), None,
                                    sinfo=stack))
    assert lines == [f'look\nStack (most recent call last):\n  fetch(secret="{REDACTED}")']


@pytest.mark.parametrize(
    "text, hidden",
    [
        ("GET https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=1&corpsecret=S3cr3t", "S3cr3t"),
        ("POST /cgi-bin/message/send?access_token=TOKEN-abc_123.x&debug=1", "TOKEN-abc_123.x"),
        ('{"errcode": 0, "access_token": "TOKEN-in-json", "expires_in": 7200}', "TOKEN-in-json"),
        ("{'api_key': 'sk-in-a-repr'}", "sk-in-a-repr"),
        ("Authorization: Bearer sk-live-abcdef123456", "sk-live-abcdef123456"),
        ("postgresql://weworktop:db-password@db.internal/weworktop", "db-password"),
        # Names that end in a secret word are secrets too.
        ("connecting with db_password=hunter2-db", "hunter2-db"),
        ("client_secret=cs-value-1 and x-api-key=xk-value-2", "cs-value-1"),
        ("client_secret=cs-value-1 and x-api-key=xk-value-2", "xk-value-2"),
        ("MY_APP_TOKEN=tok-value-3", "tok-value-3"),
        ('{"smtp_password": "pw-in-json", "n": 1}', "pw-in-json"),
        ("{'openai_api_key': 'sk-in-a-repr-2'}", "sk-in-a-repr-2"),
        ("late answer to response_url=https://qyapi.weixin.qq.com/x?response_code=RC1", "RC1"),
    ],
)
def test_credentials_are_redacted_whatever_their_value(logged, text, hidden):
    logger, lines, _ = logged
    logger.info(text)
    assert hidden not in lines[0] and REDACTED in lines[0]


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=1000", "token budget of 4000", "dedup key msg:1:2", "corp_id=ww123",
        "max_single_msg_tokens=1000", "tokens_used=12",
        "refused with 401: no bearer token",
    ],
)
def test_ordinary_words_are_left_alone(logged, text):
    logger, lines, _ = logged
    logger.info(text)
    assert lines == [text]


@pytest.fixture
def escaped():
    """A logger whose records go through the service's escaping and redaction, and its lines."""
    handler = Lines()
    handler.addFilter(EscapeControls())
    handler.addFilter(SecretRedactor([]))
    logger = logging.getLogger("test.forged")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, handler.lines
    logger.removeHandler(handler)


@pytest.mark.parametrize("control", ["\r", "\n", "\x0b", "\x0c", "\x85", "\u2028", "\x1b"])
def test_a_logged_value_cannot_start_a_line_of_its_own(escaped, control):
    logger, lines = escaped
    forged = f"/admin/x{control}2026-01-01 00:00:00,000 INFO weworktop: FAKE LINE"
    logger.warning("admin request to %s refused", forged)
    logger.warning("as a mapping: %(path)s", {"path": forged})
    for line in lines:
        assert len(line.splitlines()) == 1
        assert control not in line and ascii(control)[1:-1] in line


def test_tracebacks_keep_their_lines_but_not_a_forged_one(escaped):
    logger, lines = escaped
    try:
        raise ValueError("bad input\r\u20282026-01-01 INFO weworktop: FAKE")
    except ValueError:
        logger.exception("refused after an unexpected error")
    [line] = lines
    assert line.startswith("refused after an unexpected error\nTraceback")
    assert "\r" not in line and "\u2028" not in line
    assert not any(part.startswith("2026-01-01") for part in line.splitlines())


def test_a_token_learnt_at_run_time_is_redacted_from_then_on(logged):
    logger, lines, redactor = logged
    redactor.add("freshly-issued-token-value")
    logger.info("token freshly-issued-token-value in a place no pattern knows")
    assert lines == [f"token {REDACTED} in a place no pattern knows"]


def test_only_the_newest_learnt_tokens_are_kept_but_configured_secrets_always_are(logged):
    logger, lines, redactor = logged
    tokens = [f"issued-token-number-{i:04d}" for i in range(1000)]
    for token in tokens:
        redactor.add(token)
    logger.info("%s %s %s", tokens[-1], tokens[-SecretRedactor.LEARNT_KEPT], CORP_SECRET)
    assert lines == [f"{REDACTED} {REDACTED} {REDACTED}"]


async def test_every_token_through_the_cache_is_made_known_to_the_redactor():
    shared = InMemoryAccessTokenCache()
    learnt: list[str] = []
    cache = TokenRedactingCache(shared, learnt.append)
    await cache.put("k", CachedToken("token-we-fetched", 1.0))
    await shared.put("k2", CachedToken("token-another-process-fetched", 1.0))
    assert (await cache.get("k2")).value == "token-another-process-fetched"
    assert await cache.get("missing") is None
    assert learnt == ["token-we-fetched", "token-another-process-fetched"]


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging_setup._active
    levels = {name: logging.getLogger(name).level for name in ("aiosqlite", "sqlalchemy")}
    yield
    root.handlers[:], _, logging_setup._active = saved
    root.setLevel(saved[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_service_logging_redacts_run_time_tokens_and_quiets_chatty_libraries(
    restore_logging, capsys
):
    configure_logging([CORP_SECRET], level="DEBUG")
    redact_also("access-token-from-wecom")
    logging.getLogger("weworktop.test").debug("using access-token-from-wecom, %s", CORP_SECRET)
    logging.getLogger("aiosqlite").debug("executing INSERT ... ('access-token-from-wecom',)")
    err = capsys.readouterr().err
    assert f"using {REDACTED}, {REDACTED}" in err
    assert "access-token-from-wecom" not in err and "executing" not in err
