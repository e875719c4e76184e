"""HttpxWeComGateway: text messages out through a WeCom self-built app's API.

It retries what WeCom says is temporary, stops at once on what only an operator can fix (and
says what to fix), and keeps the corp secret and the access token out of every error and log
line. Both travel in URL query strings, and httpx puts the URL into its exception messages,
so httpx errors are translated into DeliveryError from their class name and the path alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adapters.outbound.wecom_access_token import WeComAccessTokens, token_cache_key
from application.ports import AccessTokenCache, DeliveryError, LeaseStore

logger = logging.getLogger(__name__)

_GETTOKEN = "/cgi-bin/gettoken"
_SEND = "/cgi-bin/message/send"

# WeCom invalidated (40014) or expired (42001) the token early: renew it once, resend once.
_TOKEN_REJECTED = frozenset({40014, 42001})

_TRANSIENT = {
    -1: "WeCom is busy",
    45009: "WeCom's API rate limit was reached",
    45033: "WeCom's concurrent call limit was reached",
}

# What an operator has to do. WeCom's own errmsg is appended: it names the caller's IP, say.
_ADVICE = {
    40001: "corp_secret is wrong or was reset: copy the app's Secret from the WeCom admin "
    "console into services.weworktop.corp_secret",
    40013: "corp_id is wrong: copy the CorpID shown under My Company in the WeCom admin "
    "console into services.weworktop.corp_id",
    40056: "agent_id is wrong: copy the app's AgentId from the WeCom admin console into "
    "services.weworktop.agent_id",
    41001: "the request carried no access token; this is a weworktop bug, please report it",
    60020: "this server's IP is not trusted: add this server's IP to the app's trusted IPs in "
    "the WeCom admin console, or set services.weworktop.api_base_url to a fixed-IP proxy",
    81013: "none of the recipients can receive this app's messages: they must be members "
    "inside the app's visible range",
}


def _worth_retrying(error: BaseException) -> bool:
    # A token rejected again right after renewal is not retried: looping would hammer gettoken.
    return (
        isinstance(error, DeliveryError)
        and not error.permanent
        and error.errcode not in _TOKEN_REJECTED
    )


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "WeCom delivery attempt %d failed (%s); retrying in %.2fs",
        state.attempt_number,
        getattr(error, "reason", type(error).__name__),
        state.next_action.sleep if state.next_action else 0.0,
    )


def _unreachable(error: Exception, path: str) -> DeliveryError:
    kind = type(error).__name__
    if isinstance(error, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return DeliveryError(
            f"cannot call WeCom {path} ({kind}): services.weworktop.api_base_url is not a "
            "usable URL",
            permanent=True,
        )
    if isinstance(error, httpx.TimeoutException):
        return DeliveryError(f"WeCom {path} did not answer in time ({kind})", permanent=False)
    return DeliveryError(f"could not reach WeCom {path} ({kind})", permanent=False)


def _json_object(response: httpx.Response, path: str) -> dict[str, Any]:
    status = response.status_code
    if status >= 500 or status == 429:
        raise DeliveryError(f"WeCom {path} answered HTTP {status}", permanent=False)
    if status != 200:
        raise DeliveryError(
            f"WeCom {path} answered HTTP {status}; check services.weworktop.api_base_url",
            permanent=True,
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeliveryError(
            f"WeCom {path} answered with something other than a JSON object", permanent=False
        )
    return body


class HttpxWeComGateway:
    """WeComGateway over httpx.

    `client` must carry a timeout (the container builds it with one), so that one send takes at
    most about retry_attempts x timeout plus the backoff waits (a few seconds by default).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_base_url: str,
        corp_id: str,
        corp_secret: str,
        agent_id: int,
        token_cache: AccessTokenCache,
        leases: LeaseStore,
        owner: str,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin_seconds: float = 300.0,
        fetch_lease_seconds: float = 30.0,
        retry_attempts: int = 4,
        retry_initial_wait: float = 0.5,
        retry_max_wait: float = 5.0,
    ):
        self._client = client
        self._base_url = api_base_url.rstrip("/")
        self._corp_id = corp_id
        self._corp_secret = corp_secret
        self._agent_id = agent_id
        self._tokens = WeComAccessTokens(
            self._fetch_token,
            token_cache,
            token_cache_key(corp_id, corp_secret),
            leases,
            owner,
            clock=clock,
            refresh_margin_seconds=refresh_margin_seconds,
            fetch_lease_seconds=fetch_lease_seconds,
        )
        self._retry_attempts = retry_attempts
        self._retry_initial_wait = retry_initial_wait
        self._retry_max_wait = retry_max_wait

    def __repr__(self) -> str:
        return f"HttpxWeComGateway(corp_id={self._corp_id!r}, agent_id={self._agent_id})"

    async def send_text(self, to_user: str, content: str) -> str:
        # A fresh AsyncRetrying per call: tenacity keeps per-run state on the object.
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry_attempts),
            wait=wait_exponential(multiplier=self._retry_initial_wait, max=self._retry_max_wait)
            + wait_random(0, self._retry_initial_wait),
            retry=retry_if_exception(_worth_retrying),
            before_sleep=_log_retry,
            reraise=True,
        )
        return await retrying(self._send_once, to_user, content)

    async def _send_once(self, to_user: str, content: str) -> str:
        payload = {
            "touser": to_user,
            "msgtype": "text",
            "agentid": self._agent_id,
            "text": {"content": content},
        }
        token = await self._tokens.current()
        body = await self._call("POST", _SEND, {"access_token": token}, payload)
        if body.get("errcode") in _TOKEN_REJECTED:
            logger.info(
                "WeCom rejected the access token early (errcode %s); renewing it", body["errcode"]
            )
            token = await self._tokens.renew(rejected=token)
            body = await self._call("POST", _SEND, {"access_token": token}, payload)
        self._raise_if_refused(body, _SEND, token)
        invalid = set(str(body.get("invaliduser") or "").split("|"))
        refused = [user for user in to_user.split("|") if user in invalid]
        if refused:
            raise DeliveryError(
                f"WeCom did not deliver to {', '.join(refused)}: not a member of the corp, or "
                "outside the app's visible range",
                permanent=True,
            )
        return str(body.get("msgid", ""))

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self._corp_id, "corpsecret": self._corp_secret}
        body = await self._call("GET", _GETTOKEN, params)
        self._raise_if_refused(body, _GETTOKEN)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, (int, float)):
            raise DeliveryError(f"WeCom {_GETTOKEN} answered without a token", permanent=False)
        logger.info(
            "Fetched a WeCom access token for corp %s, valid for %ss", self._corp_id, expires_in
        )
        return token, float(expires_in)

    async def _call(
        self, method: str, path: str, params: dict[str, str], payload: Any = None
    ) -> dict[str, Any]:
        """One exchange with WeCom: its JSON answer, whatever the errcode."""
        try:
            response = await self._client.request(
                method, self._base_url + path, params=params, json=payload
            )
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            failure = _unreachable(error, path)
        else:
            return _json_object(response, path)
        # Raised outside the except block so that the httpx error, whose message holds the URL
        # with the secret or the token, is not chained onto it as __context__.
        raise failure

    def _raise_if_refused(self, body: dict[str, Any], path: str, token: str = "") -> None:
        errcode = body.get("errcode", 0)
        if errcode == 0:
            return
        if errcode in _TRANSIENT:
            raise DeliveryError(
                f"{_TRANSIENT[errcode]} (errcode {errcode} from {path})",
                errcode=errcode,
                permanent=False,
            )
        if errcode in _TOKEN_REJECTED:
            raise DeliveryError(
                f"WeCom rejected a freshly fetched access token too (errcode {errcode} from "
                f"{path})",
                errcode=errcode,
                permanent=False,
            )
        errmsg = str(body.get("errmsg", ""))[:300]
        for hidden in (self._corp_secret, token):
            if hidden:
                errmsg = errmsg.replace(hidden, "[redacted]")
        advice = _ADVICE.get(errcode, f"look errcode {errcode} up in WeCom's error code list")
        raise DeliveryError(
            f"WeCom refused {path} with errcode {errcode}: {advice} (WeCom said: {errmsg})",
            errcode=errcode,
            permanent=True,
        )
