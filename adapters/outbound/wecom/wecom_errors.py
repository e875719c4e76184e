"""What WeCom's answers mean for the caller: temporary (retry), a token rejected early (renew
once), or a refusal only an operator can fix, told with what to fix. httpx errors are named by
class and path alone: their messages hold the URL, and with it the secret or the token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from application.ports.wecom import DeliveryError

# WeCom invalidated (40014) or expired (42001) the token early: renew it once, resend once.
TOKEN_REJECTED = frozenset({40014, 42001})

_TRANSIENT = {
    -1: "WeCom is busy",
    45009: "WeCom's API rate limit was reached",
    45033: "WeCom's concurrent call limit was reached",
}

# What an operator has to do. WeCom's own errmsg is appended: it names the caller's IP, say.
_ADVICE = {
    40001: "corp_secret is wrong or was reset: copy the app's Secret from the WeCom admin "
    "console into services.weworktop.corp_secret",
    40005: "WeCom does not take this file type (images must be JPG or PNG)",
    40006: "WeCom does not take a file of this size",
    40007: "the media_id is unknown or expired (WeCom keeps media for three days)",
    40009: "the image is larger than WeCom takes (10 MB)",
    40013: "corp_id is wrong: copy the CorpID shown under My Company in the WeCom admin "
    "console into services.weworktop.corp_id",
    40056: "agent_id is wrong: copy the app's AgentId from the WeCom admin console into "
    "services.weworktop.agent_id",
    41001: "the request carried no access token; this is a weworktop bug, please report it",
    60020: "this server's IP is not trusted: add this server's IP to the app's trusted IPs in "
    "the WeCom admin console, or set services.weworktop.api_base_url to a fixed-IP proxy",
    81013: "none of the recipients can receive this app's messages: they must be members "
    "inside the app's visible range",
    86003: "the group chat does not exist, or was not created by this app (a self-built app "
    "can only send to group chats it created itself)",
    # The token came from one app's Secret, the agentid names another app of the corp.
    301002: "the agent_id is not the app whose corp_secret is configured: check that "
    "services.weworktop.agent_id and corp_secret (or apps[…].agent_id and corp_secret of "
    "the app named in the log line) are the AgentId and Secret of one and the same app",
}


def advice(errcode: int) -> str | None:
    """What an operator should know about WeCom's `errcode`, in plain words, for the operator's
    view; None for a code weworktop has no advice for."""
    if errcode in _TRANSIENT:
        return f"{_TRANSIENT[errcode]}; weworktop retries by itself"
    if errcode in TOKEN_REJECTED:
        return "WeCom rejected the access token early; weworktop renews it by itself"
    return _ADVICE.get(errcode)


def worth_retrying(error: BaseException) -> bool:
    # A token rejected again right after renewal is not retried: looping would hammer gettoken.
    return (
        isinstance(error, DeliveryError)
        and not error.permanent
        and error.errcode not in TOKEN_REJECTED
    )


def unreachable(error: Exception, where: str) -> DeliveryError:
    """`where`: the endpoint's URL as `shown_url` gives it, which names the api_base_url
    tried (not a secret) and nothing that is."""
    kind = type(error).__name__
    if isinstance(error, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return DeliveryError(
            f"cannot call WeCom at {where} ({kind}): services.weworktop.api_base_url is not a "
            "usable URL",
            permanent=True,
        )
    if isinstance(error, httpx.TimeoutException):
        return DeliveryError(f"WeCom at {where} did not answer in time ({kind})", permanent=False)
    return DeliveryError(
        f"could not reach WeCom at {where} ({kind}); check services.weworktop.api_base_url "
        "and this server's network",
        permanent=False,
    )


def shown_url(base_url: str, path: str) -> str:
    """The URL of a WeCom call as errors may show it: without a userinfo part (a proxy's
    credentials may be there) and without the query, which holds the secret or the token."""
    try:
        url = httpx.URL(base_url + path)
    except httpx.InvalidURL:
        return path  # the base URL cannot be read at all; the error says what to check
    return str(url.copy_with(userinfo=b""))


def refusal(body: dict[str, Any], path: str, hidden: Iterable[str]) -> DeliveryError | None:
    """None when WeCom's answer `body` is a success; else the error to raise, in which the
    `hidden` values (secret, token), should WeCom or a proxy echo them, are redacted."""
    errcode = body.get("errcode", 0)
    if errcode == 0:
        return None
    if errcode in _TRANSIENT:
        return DeliveryError(
            f"{_TRANSIENT[errcode]} (errcode {errcode} from {path})",
            errcode=errcode,
            permanent=False,
        )
    if errcode in TOKEN_REJECTED:
        return DeliveryError(
            f"WeCom rejected a freshly fetched access token too (errcode {errcode} from {path})",
            errcode=errcode,
            permanent=False,
        )
    errmsg = str(body.get("errmsg", ""))[:300]
    for value in hidden:
        if value:
            errmsg = errmsg.replace(value, "[redacted]")
    advice = _ADVICE.get(errcode, f"look errcode {errcode} up in WeCom's error code list")
    return DeliveryError(
        f"WeCom refused {path} with errcode {errcode}: {advice} (WeCom said: {errmsg})",
        errcode=errcode,
        permanent=True,
    )
