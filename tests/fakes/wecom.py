"""A hand-written WeComGateway for unit tests: remembers what was sent and uploaded, knows the
chats, members and media it is given, fails on request."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping

from application.ports.wecom import DeliveryError, Member, Recipients, SendReport, TokenStatus

# What `fail_next(on=...)` can make fail.
SEND, UPLOAD, DOWNLOAD, LOOKUP = "send", "upload", "download", "lookup"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


class FakeWeComGateway:
    def __init__(
        self,
        invalid_users: Iterable[str] = (),
        *,
        chats: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
        media: Mapping[str, bytes] | None = None,
        departments: Mapping[str, tuple[int, ...]] | None = None,
    ):
        """Sending to one of `invalid_users` fails permanently, as WeCom's 81013 does.
        `chats` (chat_id: name) are the group chats; None accepts a send to any chat id, whose
        name is then unknown. `names` (user_id: name) are the members the app can see, `media`
        (media_id: bytes) what download_media finds besides the uploaded images; `departments`
        (user_id: department ids, the main one first) those of the members named."""
        self.sent: list[tuple[str, str]] = []
        self.chat_sent: list[tuple[str, str]] = []
        # The markdown messages, also in `sent` / `chat_sent` (all text members read).
        self.markdown_sent: list[tuple[str, str]] = []
        self.images_sent: list[tuple[str, str]] = []
        self.chat_images_sent: list[tuple[str, str]] = []
        self.uploaded: dict[str, bytes] = {}
        self.announced: list[tuple[Recipients, str, str]] = []
        self._invalid_users = frozenset(invalid_users)
        self._chats = None if chats is None else dict(chats)
        self._names = dict(names or {})
        self._media = dict(media or {})
        self._departments = dict(departments or {})
        self.member_lookups = 0
        self._failures: dict[str, deque[tuple[str, int | None, bool]]] = {
            kind: deque() for kind in (SEND, UPLOAD, DOWNLOAD, LOOKUP)
        }
        self._ids = itertools.count(1)
        self.token_valid_until: float | None = None
        self.token_error: str | None = None

    def fail_next(
        self,
        times: int = 1,
        *,
        permanent: bool = False,
        errcode: int | None = -1,
        reason: str = "WeCom is busy (fake)",
        on: str = SEND,
    ) -> None:
        """The next `times` calls of a kind raise DeliveryError and do nothing: sends (of
        text or images, to members or chats), uploads, downloads or lookups (of names)."""
        self._failures[on].extend([(reason, errcode, permanent)] * times)

    async def send_text(self, to_user: str, content: str) -> str:
        return self._deliver(self.sent, to_user, content, chat=False)

    async def send_markdown(self, to_user: str, content: str) -> str:
        msgid = self._deliver(self.sent, to_user, content, chat=False)
        self.markdown_sent.append((to_user, content))
        return msgid

    async def send_chat_markdown(self, chat_id: str, content: str) -> str:
        msgid = self._deliver(self.chat_sent, chat_id, content, chat=True)
        self.markdown_sent.append((chat_id, content))
        return msgid

    async def send_image(self, to_user: str, media_id: str) -> str:
        return self._deliver(self.images_sent, to_user, media_id, chat=False, media=True)

    async def send_to(self, recipients: Recipients, msgtype: str, content: str) -> SendReport:
        """Every department and tag is valid (`announced` has them); members as for
        send_text (`sent` has what each got)."""
        self._fail_if_scripted(SEND)
        invalid = tuple(user for user in recipients.users if user in self._invalid_users)
        reached = [user for user in recipients.users if user not in invalid]
        if not (reached or recipients.departments or recipients.tags):
            return SendReport("", invalid_users=invalid, reached_anyone=False)
        self.sent.extend((user, content) for user in reached)
        self.announced.append((recipients, msgtype, content))
        return SendReport(f"fake-msgid-{next(self._ids)}", invalid_users=invalid)

    async def send_chat_text(self, chat_id: str, content: str) -> str:
        return self._deliver(self.chat_sent, chat_id, content, chat=True)

    async def send_chat_image(self, chat_id: str, media_id: str) -> str:
        return self._deliver(self.chat_images_sent, chat_id, media_id, chat=True, media=True)

    async def upload_image(self, data: bytes, filename: str) -> str:
        self._fail_if_scripted(UPLOAD)
        if not data.startswith(_IMAGE_MAGIC) or len(data) <= 5:
            raise DeliveryError("not a JPG or PNG image (fake)", errcode=40005, permanent=True)
        media_id = f"fake-media-{next(self._ids)}"
        self.uploaded[media_id] = data
        return media_id

    async def download_media(self, media_id: str) -> bytes:
        self._fail_if_scripted(DOWNLOAD)
        self._media_known(media_id)
        return self.uploaded.get(media_id) or self._media[media_id]

    async def chat_name(self, chat_id: str) -> str | None:
        self._fail_if_scripted(LOOKUP)
        return (self._chats or {}).get(chat_id)

    async def token_status(self) -> TokenStatus:
        return TokenStatus(self.token_valid_until, self.token_error)

    async def member(self, user_id: str) -> Member | None:
        self.member_lookups += 1
        self._fail_if_scripted(LOOKUP)
        if user_id not in self._names:
            return None
        return Member(self._names[user_id], tuple(self._departments.get(user_id, ())))

    def _deliver(
        self,
        log: list[tuple[str, str]],
        recipient: str,
        what: str,
        *,
        chat: bool,
        media: bool = False,
    ) -> str:
        self._fail_if_scripted(SEND)
        if media:
            self._media_known(what)
        if chat and self._chats is not None and recipient not in self._chats:
            raise DeliveryError(
                f"the group chat {recipient} does not exist (fake)", errcode=86003, permanent=True
            )
        if not chat and recipient in self._invalid_users:
            raise DeliveryError(
                f"WeCom did not deliver to {recipient}: not a member (fake)",
                errcode=81013,
                permanent=True,
            )
        log.append((recipient, what))
        return f"fake-msgid-{next(self._ids)}"

    def _media_known(self, media_id: str) -> None:
        if media_id not in self.uploaded and media_id not in self._media:
            raise DeliveryError(
                f"the media_id {media_id} is unknown or expired (fake)",
                errcode=40007,
                permanent=True,
            )

    def _fail_if_scripted(self, kind: str) -> None:
        if self._failures[kind]:
            reason, errcode, permanent = self._failures[kind].popleft()
            raise DeliveryError(reason, errcode=errcode, permanent=permanent)
