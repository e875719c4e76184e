"""Why a WeCom callback was refused.

Codes follow the official WXBizMsgCrypt samples so a log line can be matched against WeCom's
documentation. A `reason` is written for logs: it never carries the token, the AES key or any
decrypted byte, because callers log it as is.
"""

from __future__ import annotations


class CallbackRejected(Exception):
    status: int = 400
    code: int = -40002

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadSignature(CallbackRejected):
    status = 403
    code = -40001


class StaleTimestamp(BadSignature):
    """Outside callback_max_skew_seconds: a replay, or a clock that needs fixing."""


class ReplayedCallback(BadSignature):
    """A correctly signed URL verification that was already answered once."""


class MalformedCallback(CallbackRejected):
    code = -40002


class CallbackTooLarge(CallbackRejected):
    status = 413
    code = -40002


class ReceiveIdMismatch(CallbackRejected):
    code = -40005


class DecryptFailed(CallbackRejected):
    code = -40007


class BadBuffer(CallbackRejected):
    code = -40008


class InvalidBase64(CallbackRejected):
    code = -40010
