"""The sample corp the sandbox plays: a few members with Chinese names, two group chats (one
on the service's whitelist and one not, so that the whitelist can be seen at work), and what
the members can talk to: two self-built apps with rules of their own and two AI bots (one
called back by WeCom, one holding a long connection to it), each one channel of the
service."""

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
class Assistant:
    """An app or a bot of the corp: one channel of the service, named as the service names
    it ("app:it"). A bot has no AgentId; WeCom knows it by its callback keys alone."""

    channel: str
    name: str  # as the members see it
    callback_path: str
    agent_id: int = 0
    # How a member starts a question in a private chat and in a group, as the service's
    # single_chat_prefix and group_chat_prefix expect ([""]: any message).
    private_prefixes: tuple[str, ...] = ("",)
    group_prefixes: tuple[str, ...] = ()
    welcome: str = ""
    # Its own system prompt ("": the deployment's).
    system_prompt: str = ""
    # How to ask it, in a line for the page.
    hint: str = ""
    # A bot over the long connection: the service dials the emulator, no callback_path.
    long_connection: bool = False

    @property
    def is_bot(self) -> bool:
        return self.channel.startswith("aibot:")

    @property
    def config_name(self) -> str:
        """The `name` of its `apps` or `aibots` entry."""
        return self.channel.partition(":")[2]


@dataclass(frozen=True)
class Corp:
    corp_id: str
    members: Mapping[str, str]  # UserID: name
    groups: tuple[Group, ...]
    # The first is the seed's app, configured by the top-level keys (the channel app:default).
    assistants: tuple[Assistant, ...]

    def group(self, chat_id: str) -> Group | None:
        return next((group for group in self.groups if group.chat_id == chat_id), None)

    def assistant(self, channel: str) -> Assistant | None:
        return next((a for a in self.assistants if a.channel == channel), None)

    @property
    def whitelist(self) -> list[str]:
        return [group.name for group in self.groups if group.whitelisted]

    @property
    def apps(self) -> list[Assistant]:
        return [assistant for assistant in self.assistants if not assistant.is_bot]

    @property
    def bots(self) -> list[Assistant]:
        return [assistant for assistant in self.assistants if assistant.is_bot]


_EVERYONE = ("zhangsan", "lisi", "wangwu")

SAMPLE_CORP = Corp(
    corp_id="wwsandbox0000000001",
    members={"zhangsan": "张三", "lisi": "李四", "wangwu": "王五"},
    groups=(
        Group("wrkNankaiKnowledge", "南开知识社区", _EVERYONE, whitelisted=True),
        Group("wrkChitchat", "闲聊群", _EVERYONE, whitelisted=False),
    ),
    assistants=(
        Assistant(
            "app:default", "小知", "/wework_callback", agent_id=1000002,
            group_prefixes=("小知", "@小知"),
            hint="直接提问；发图片让它看；「画 一只猫」生成图片；贴一段长文看长回答分条到达；"
            "#help 查看命令。 Ask anything; send a picture to have it seen; 画 一只猫 draws one; "
            "paste a long text to see a long answer arrive in parts; #help lists the commands.",
        ),
        Assistant(
            "app:it", "IT 帮手", "/wework_callback/it", agent_id=1000003,
            private_prefixes=("IT", "it"), group_prefixes=("IT", "@IT 帮手"),
            welcome="你好，我是 IT 帮手：电脑、网络、打印机的问题以「IT」开头问我，"
            "如「IT 打印机连不上」。 Hi, I am the IT helper: start your question with IT.",
            system_prompt="你是公司的 IT 帮手，只回答电脑、网络、打印机和账号的问题，回答简短。",
            hint="以「IT」开头提问，如「IT 打印机连不上」；别的消息它不回答。 "
            "Start with IT (its own single_chat_prefix); it answers nothing else.",
        ),
        Assistant(
            "aibot:team", "团队助手", "/wework_aibot/team",
            hint="AI 机器人：直接提问，或发图片、文件；回答边写边出现（流式）。 "
            "An AI bot: ask, or send a picture or a file; the answer streams as it is written.",
        ),
        Assistant(
            "aibot:live", "长连接助手", "", long_connection=True,
            hint="长连接的 AI 机器人：服务主动连上（模拟的）企业微信，不需要公网地址；"
            "回答一帧一帧长出来。 An AI bot over the long connection: the service dialled "
            "out, no public URL; the answer grows frame by frame.",
        ),
    ),
)
