"""Logging for the service: one line per record, with every configured secret redacted."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Tokens and secrets that travel in URLs (gettoken, message/send) whatever their value.
_SECRET_QUERY = re.compile(r"((?:access_token|corpsecret|secret|key)=)[^&\s\"']+", re.IGNORECASE)
REDACTED = "[redacted]"


class SecretRedactor(logging.Filter):
    """Rewrites each record's final message so that no known secret survives in it."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        # Longest first, so a secret that contains another is removed whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _SECRET_QUERY.sub(rf"\1{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.redact(message), None
        return True


def configure_logging(secrets: Iterable[str], level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(SecretRedactor(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's loggers keep their own handlers; route them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
