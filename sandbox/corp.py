"""The sample corp the sandbox plays: a few members with Chinese names, and two group chats,
one on the service's whitelist and one not, so that the whitelist can be seen at work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    chat_id: str
    name: str
    members: tuple[str, ...]
    whitelisted: bool


@dataclass(frozen=True)
class Corp:
    corp_id: str
    agent_id: int
    app_name: str
    members: Mapping[str, str]  # UserID: name
    groups: tuple[Group, ...]
    # How a group member calls the app, as the service's group_chat_prefix expects.
    group_prefixes: tuple[str, ...]

    def group(self, chat_id: str) -> Group | None:
        return next((group for group in self.groups if group.chat_id == chat_id), None)

    @property
    def whitelist(self) -> list[str]:
        return [group.name for group in self.groups if group.whitelisted]


_EVERYONE = ("zhangsan", "lisi", "wangwu")

SAMPLE_CORP = Corp(
    corp_id="wwsandbox0000000001",
    agent_id=1000002,
    app_name="小知",
    members={"zhangsan": "张三", "lisi": "李四", "wangwu": "王五"},
    groups=(
        Group("wrkNankaiKnowledge", "南开知识社区", _EVERYONE, whitelisted=True),
        Group("wrkChitchat", "闲聊群", _EVERYONE, whitelisted=False),
    ),
    group_prefixes=("小知", "@小知"),
)
