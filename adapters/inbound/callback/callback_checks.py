"""Cheap checks of a callback request, made before any byte of its body is read or decrypted.

Each one refuses with a reason for our log (see SECURITY.md for the whole table); none of them
touches the store.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable

from adapters.inbound.callback.callback_errors import MalformedCallback, ReplayedCallback
from domain.user_ids import is_user_id

# sha1 in hex. WeCom's official samples compare it with the lowercase hexdigest, so anything
# else could never verify; saying "malformed" instead of "forged" makes such a log line clearer.
_SIGNATURE_SHAPE = re.compile(r"[0-9a-fA-F]{40}")

# Generous bounds on what WeCom sends (a 10-digit nonce, a ~100-character echostr), so that
# an absurd query string is refused before it is hashed, decrypted or remembered.
MAX_QUERY_CHARS = {"msg_signature": 40, "timestamp": 12, "nonce": 128, "echostr": 4096}

# WeCom's Content-Type for the callback POST is not documented. Refusing only media types whose
# body cannot be XML keeps real traffic safe whatever WeCom sends, while a misdirected form
# upload or JSON webhook gets a clear refusal instead of an XML parse error.
_NOT_XML = re.compile(
    r"multipart/.*|application/json|[a-z0-9.+-]+/[a-z0-9.-]+\+json|(image|audio|video|font)/.*"
)


def check_signature_shape(signature: str) -> None:
    if not _SIGNATURE_SHAPE.fullmatch(signature):
        raise MalformedCallback("msg_signature is not 40 hexadecimal digits")


def check_timestamp_shape(timestamp: str) -> None:
    # isascii() matters: str.isdigit() also takes digits that int() cannot read, like "²".
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise MalformedCallback("timestamp is not a number of seconds")


def check_query_sizes(values: dict[str, str]) -> None:
    for name, value in values.items():
        limit = MAX_QUERY_CHARS.get(name)
        if limit is not None and len(value) > limit:
            raise MalformedCallback(f"query parameter '{name}' is longer than {limit} characters")


def checked_user_id(text: str, name: str) -> str:
    """`text`, if it names exactly one member: the sender becomes the reply's `touser`."""
    if not is_user_id(text):
        raise MalformedCallback(f"{name} is not a WeCom UserID (one member, letters, digits, _-@.)")
    return text


def check_content_type(content_type: str | None) -> None:
    """Refuses a body declared as something that cannot be XML; a missing type is fine."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if _NOT_XML.fullmatch(media_type):
        raise MalformedCallback(f"Content-Type '{media_type}' cannot be a WeCom XML callback")


class ReplayCache:
    """Signed URL verifications (GET) already answered, so that each is answered only once.

    POSTs need no such cache: the event store's dedup makes a replayed message a no-op. A GET
    has no record, and answering a captured one again would show that the Token is still good.
    Entries live as long as their timestamp passes the skew check (after that the timestamp
    check refuses the replay anyway) and at most `max_entries` are kept, oldest dropped first,
    so memory stays bounded under any flood. Each process keeps its own cache.
    """

    def __init__(
        self,
        max_skew_seconds: int,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ):
        # A timestamp up to max_skew in the future stays acceptable until max_skew in the past.
        self._ttl = 2 * max_skew_seconds if max_skew_seconds else None
        self._max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()

    def check_first_use(self, signature: str, timestamp: str, nonce: str) -> None:
        now = self._clock()
        self._forget_expired(now)
        key = (signature, timestamp, nonce)
        if key in self._seen:
            raise ReplayedCallback("this signed URL verification was already answered")
        self._seen[key] = now + self._ttl if self._ttl is not None else float("inf")
        while len(self._seen) > self._max_entries:
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)

    def _forget_expired(self, now: float) -> None:
        # Insertion order is expiry order, as every entry lives for the same ttl.
        while self._seen:
            key, expires_at = next(iter(self._seen.items()))
            if expires_at > now:
                return
            del self._seen[key]
