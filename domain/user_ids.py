"""WeCom's UserID as its admin console allows it (WECOM.md): 1 to 64 bytes of letters, digits
and `_-@.`, starting with a letter or a digit.

The sender of a message becomes the `touser` of its reply, where WeCom reads `@all` as the whole
company and `a|b` as two members: a sender that is not exactly one UserID must never get that far.
"""

from __future__ import annotations

import re

_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_@.-]{0,63}")


def is_user_id(value: str) -> bool:
    return _USER_ID.fullmatch(value) is not None
