"""HttpxWeComGateway: messages, images, media and names through a WeCom self-built app's API.

Every call goes through WeComApi, which handles the access token, retries, operator-facing
reasons and keeping secrets out of sight; this module knows each endpoint's request and answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from adapters.outbound.wecom.wecom_api import WeComApi
from adapters.outbound.wecom.wecom_image_fit import fit_image
from application.ports.shared_state import AccessTokenCache, LeaseStore
from application.ports.wecom import DeliveryError, Member, Recipients, SendReport, TokenStatus
from domain.user_ids import is_user_id

_SEND = "/cgi-bin/message/send"
_CHAT_SEND = "/cgi-bin/appchat/send"
_CHAT_GET = "/cgi-bin/appchat/get"
_USER_GET = "/cgi-bin/user/get"
_UPLOAD = "/cgi-bin/media/upload"
_MEDIA_GET = "/cgi-bin/media/get"

# WeCom's answers for "no such chat" and "no such member, or not one this app may see": the
# caller asked about something that is not there, which is an answer, not a failure.
_NO_SUCH_CHAT = frozenset({86001, 86003})
_NO_SUCH_MEMBER = frozenset({46004, 60011, 60111})
# message/send's "none of the recipients is valid": reported per recipient in the answer.
_NOBODY_REACHED = frozenset({81013})

# A voice message is at most 2 MB and an image 10 MB; past this a download is not WeCom media.
MEDIA_MAX_BYTES = 20 * 1024 * 1024


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
        fetch_lease_seconds: float = 30.0,
        retry_attempts: int = 4,
        retry_initial_wait: float = 0.5,
        retry_max_wait: float = 5.0,
        media_max_bytes: int = MEDIA_MAX_BYTES,
        observe: Callable[[str, str], None] = lambda endpoint, errcode: None,
    ):
        self._corp_id = corp_id
        self._agent_id = agent_id
        self._media_max_bytes = media_max_bytes
        self._api = WeComApi(
            client,
            api_base_url,
            corp_id,
            corp_secret,
            token_cache,
            leases,
            owner,
            clock=clock,
            fetch_lease_seconds=fetch_lease_seconds,
            retry_attempts=retry_attempts,
            retry_initial_wait=retry_initial_wait,
            retry_max_wait=retry_max_wait,
            observe=observe,
        )

    def __repr__(self) -> str:
        return f"HttpxWeComGateway(corp_id={self._corp_id!r}, agent_id={self._agent_id})"

    async def token_status(self) -> TokenStatus:
        return await self._api.token_status()

    async def send_text(self, to_user: str, content: str) -> str:
        return await self._send(to_user, "text", {"content": content})

    async def send_markdown(self, to_user: str, content: str) -> str:
        return await self._send(to_user, "markdown", {"content": content})

    async def send_chat_markdown(self, chat_id: str, content: str) -> str:
        return await self._send_chat(chat_id, "markdown", {"content": content})

    async def send_image(self, to_user: str, media_id: str) -> str:
        return await self._send(to_user, "image", {"media_id": media_id})

    async def send_to(self, recipients: Recipients, msgtype: str, content: str) -> SendReport:
        payload: dict[str, Any] = {
            "msgtype": msgtype, "agentid": self._agent_id, msgtype: {"content": content}
        }
        for key, values in (
            ("touser", recipients.users),
            ("toparty", recipients.departments),
            ("totag", recipients.tags),
        ):
            if values:
                payload[key] = "|".join(str(value) for value in values)
        body = await self._api.call("POST", _SEND, payload=payload, tolerated=_NOBODY_REACHED)
        return SendReport(
            msgid=str(body.get("msgid", "")),
            invalid_users=_listed(body.get("invaliduser")),
            invalid_departments=_ids(body.get("invalidparty")),
            invalid_tags=_ids(body.get("invalidtag")),
            reached_anyone=body.get("errcode", 0) not in _NOBODY_REACHED,
        )

    async def send_chat_text(self, chat_id: str, content: str) -> str:
        return await self._send_chat(chat_id, "text", {"content": content})

    async def send_chat_image(self, chat_id: str, media_id: str) -> str:
        return await self._send_chat(chat_id, "image", {"media_id": media_id})

    async def upload_image(self, data: bytes, filename: str) -> str:
        # Pillow's decoding and re-encoding take a while on a large image: not on the loop.
        image, name, content_type = await asyncio.to_thread(fit_image, data, filename)
        body = await self._api.call(
            "POST", _UPLOAD, {"type": "image"}, files={"media": (name, image, content_type)}
        )
        media_id = body.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise DeliveryError(f"WeCom {_UPLOAD} answered without a media_id", permanent=False)
        return media_id

    async def download_media(self, media_id: str) -> bytes:
        return await self._api.download(_MEDIA_GET, {"media_id": media_id}, self._media_max_bytes)

    async def chat_name(self, chat_id: str) -> str | None:
        body = await self._api.call("GET", _CHAT_GET, {"chatid": chat_id}, tolerated=_NO_SUCH_CHAT)
        info = body.get("chat_info")
        name = info.get("name") if isinstance(info, dict) else None
        return name if isinstance(name, str) else None

    async def member(self, user_id: str) -> Member | None:
        body = await self._api.call(
            "GET", _USER_GET, {"userid": user_id}, tolerated=_NO_SUCH_MEMBER
        )
        name = body.get("name")
        if body.get("errcode", 0) in _NO_SUCH_MEMBER or not isinstance(name, str):
            return None
        listed = body.get("department")
        departments = [d for d in listed if type(d) is int] if isinstance(listed, list) else []
        main = body.get("main_department")
        if type(main) is int:
            departments = [main] + [d for d in departments if d != main]
        return Member(name, tuple(departments))

    async def _send(self, to_user: str, msgtype: str, content: dict[str, Any]) -> str:
        # WeCom reads "@all" as the whole company and "a|b" as two members: one reply, one member.
        if not is_user_id(to_user):
            raise DeliveryError("the recipient is not exactly one WeCom UserID", permanent=True)
        payload = {"touser": to_user, "msgtype": msgtype, "agentid": self._agent_id}
        body = await self._api.call("POST", _SEND, payload=payload | {msgtype: content})
        if to_user in str(body.get("invaliduser") or "").split("|"):
            raise DeliveryError(
                f"WeCom did not deliver to {to_user}: not a member of the corp, or "
                "outside the app's visible range",
                permanent=True,
            )
        return str(body.get("msgid", ""))

    async def _send_chat(self, chat_id: str, msgtype: str, content: dict[str, Any]) -> str:
        payload = {"chatid": chat_id, "msgtype": msgtype, msgtype: content}
        body = await self._api.call("POST", _CHAT_SEND, payload=payload)
        return str(body.get("msgid", ""))


def _listed(value: Any) -> tuple[str, ...]:
    """WeCom's "a|b|c" as ("a", "b", "c")."""
    return tuple(item for item in str(value or "").split("|") if item)


def _ids(value: Any) -> tuple[int, ...]:
    return tuple(int(item) for item in _listed(value) if item.isdigit())
