"""WeCom's APIs as the channels use them: the self-built app's, and the AI bot's response_url."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from application.ports.media import Fetched


class DeliveryError(Exception):
    """WeCom did not take the message. `permanent` means retrying cannot help."""

    def __init__(self, reason: str, *, errcode: int | None = None, permanent: bool):
        super().__init__(reason)
        self.reason = reason
        self.errcode = errcode
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Member:
    """A member as user/get describes them. Slots: the name directory keeps one per member
    who asked (tens of thousands in a large company), and a __dict__ each doubled that."""

    name: str
    departments: tuple[int, ...]  # department ids, the main department first


@dataclass(frozen=True)
class Recipients:
    """Whom a message the company sends first goes to: members, departments and tags."""

    users: tuple[str, ...] = ()
    departments: tuple[int, ...] = ()
    tags: tuple[int, ...] = ()


@dataclass(frozen=True)
class SendReport:
    """What WeCom said of a message to several recipients: those it could not reach (not in
    the corp, or outside the app's visible range), and whether it reached anyone at all."""

    msgid: str
    invalid_users: tuple[str, ...] = ()
    invalid_departments: tuple[int, ...] = ()
    invalid_tags: tuple[int, ...] = ()
    reached_anyone: bool = True


@dataclass(frozen=True)
class TokenStatus:
    """The access token as far as this process knows, without asking WeCom for one."""

    valid_until: float | None  # epoch seconds; None when there is no usable token
    last_error: str | None  # why the last fetch failed, if it did


class WeComGateway(Protocol):
    """One self-built app's side of WeCom's API. Every failure is a DeliveryError."""

    async def send_text(self, to_user: str, content: str) -> str:
        """Send one text message to a member; returns WeCom's msgid."""

    async def send_chat_text(self, chat_id: str, content: str) -> str:
        """Send one text message to a group chat (appchat/send); returns a msgid ("" if none)."""

    async def send_markdown(self, to_user: str, content: str) -> str:
        """Send one markdown message (rendered by the WeCom client only); returns the msgid."""

    async def send_chat_markdown(self, chat_id: str, content: str) -> str: ...

    async def send_image(self, to_user: str, media_id: str) -> str: ...

    async def send_to(self, recipients: Recipients, msgtype: str, content: str) -> SendReport:
        """message/send of a text or markdown message to members, departments and tags;
        recipients WeCom cannot reach are reported, not raised (81013 included)."""

    async def send_chat_image(self, chat_id: str, media_id: str) -> str: ...

    async def upload_image(self, data: bytes, filename: str) -> str:
        """media/upload?type=image; returns the media_id (valid three days)."""

    async def download_media(self, media_id: str) -> bytes:
        """media/get: the raw bytes (a voice message is AMR)."""

    async def chat_name(self, chat_id: str) -> str | None:
        """appchat/get's name; None when WeCom does not know the chat."""

    async def member(self, user_id: str) -> Member | None:
        """user/get's name and departments; None when the member is outside the app's
        visible range."""

    async def token_status(self) -> TokenStatus:
        """The cached token's state; never calls gettoken."""


class AiBotResponseUrl(Protocol):
    """The AI bot's way to answer after its stream has closed: one markdown message through
    the callback's response_url, within an hour of the message. Failures are DeliveryErrors."""

    async def post_markdown(self, response_url: str, content: str) -> None: ...


class AiBotMedia(Protocol):
    """Pictures and files members send an AI bot: downloaded from the item's URL (valid for
    five minutes) and decrypted, with the item's `aeskey` (long connection) or, when it has
    none (callback mode), with the bot's own EncodingAESKey."""

    async def download(self, url: str, aeskey: str, limit: int) -> Fetched:
        """The decrypted bytes (at most `limit`) and the file's name; MediaError otherwise."""

