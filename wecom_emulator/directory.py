"""Who and what WeCom knows in the corp: the members an app may message (every one, unless
they are listed), their names and departments for user/get, the departments and tags a
message may be sent to, and the group chats with their names and members for appchat. One
directory serves every corp the emulator plays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from wecom_emulator.errors import Refused


class Directory:
    def __init__(
        self,
        known_users: Iterable[str] | None,
        names: Mapping[str, str] | None,
        chats: Mapping[str, str] | None,
        chat_members: Mapping[str, Sequence[str]] | None,
        departments: Mapping[int, Sequence[str]] | None = None,
        tags: Mapping[int, Sequence[str]] | None = None,
    ):
        """`known_users` None accepts every recipient; `chats` None accepts a send to any
        chatid (and appchat/get then finds none); `departments` and `tags` (id: members)
        are the only ones a message may be sent to (a member in none is in department 1)."""
        self._known_users = None if known_users is None else frozenset(known_users)
        self._names = dict(names or {})
        self._chats = None if chats is None else dict(chats)
        self._chat_members = {chat: list(users) for chat, users in (chat_members or {}).items()}
        self._departments = {dept: list(users) for dept, users in (departments or {}).items()}
        self._tags = {tag: list(users) for tag, users in (tags or {}).items()}

    def knows(self, user: str) -> bool:
        return self._known_users is None or user in self._known_users

    def member(self, userid: str) -> dict[str, Any]:
        """user/get's answer; 60111 for a member WeCom does not know."""
        if userid not in self._names:
            raise Refused(60111)
        departments = [d for d, users in self._departments.items() if userid in users] or [1]
        return {
            "userid": userid, "name": self._names[userid], "department": departments,
            "main_department": departments[0],
        }

    def addressees(self, body: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
        """The members message/send delivers to, from its touser, toparty and totag ("a|b"),
        each once; and what it reports it could not reach (`invaliduser`, `invalidparty`,
        `invalidtag`, "a|b" again, present when given). 81013 with those when it is nobody."""
        users = _listed(body.get("touser"))
        departments, tags = _listed(body.get("toparty")), _listed(body.get("totag"))
        reached = [user for user in users if self.knows(user)]
        reached += _members(departments, self._departments)
        reached += _members(tags, self._tags)
        invalid = {
            field: "|".join(item for item in named if item not in valid)
            for field, named, valid in (
                ("invaliduser", users, set(reached)),
                ("invalidparty", departments, {str(d) for d in self._departments}),
                ("invalidtag", tags, {str(t) for t in self._tags}),
            )
            if named
        }
        if not reached:
            raise Refused(81013, **invalid)
        return list(dict.fromkeys(reached)), invalid

    def check_chat(self, chatid: Any) -> str:
        """A chatid appchat/send takes; 86003 for a chat that does not exist."""
        if not isinstance(chatid, str) or (self._chats is not None and chatid not in self._chats):
            raise Refused(86003)
        return chatid

    def chat_info(self, chatid: str) -> dict[str, Any]:
        """appchat/get's chat_info, owner first in its userlist; 86003 for an unknown chat."""
        name = (self._chats or {}).get(chatid)
        if name is None:
            raise Refused(86003)
        members = self._chat_members.get(chatid, [])
        owner = members[0] if members else ""
        return {"chatid": chatid, "name": name, "owner": owner, "userlist": members}


def _listed(value: Any) -> list[str]:
    return [item for item in str(value or "").split("|") if item]


def _members(ids: list[str], groups: dict[int, list[str]]) -> list[str]:
    return [user for item in ids if item.isdigit() for user in groups.get(int(item), [])]
