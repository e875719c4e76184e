"""Upgrading a database written before channels, on SQLite and on PostgreSQL: the rows are
recorded as the old code recorded them (keys naming the agent or `aibot`, messages whose
`channel` is "app" or "aibot"), then the schema is migrated, and the service's own use cases
find the memory and the pre-upgrade messages under the channels `app:default` and
`aibot:default`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.outbound.persistence import sqlalchemy_legacy_keys, sqlalchemy_migrations
from adapters.outbound.persistence.sqlalchemy_blob_store import SqlAlchemyBlobStore
from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_event_store import SqlAlchemyEventStore
from adapters.outbound.persistence.sqlalchemy_legacy_keys import (
    channel_conversation_id,
    channel_stream_id,
    prefix_legacy_keys,
)
from adapters.outbound.persistence.sqlalchemy_migrations import MIGRATIONS, migrate, schema_version
from adapters.outbound.persistence.sqlalchemy_schema import (
    events,
    pending_messages,
    received_messages,
)
from application.pipeline.accept_message import AcceptMessage
from application.pipeline.ask_with_memory import AskWithMemory
from domain.events import AnswerComposed, Event, MessageReceived, ReplyDelivered, ReplyPartSent
from domain.messages import InboundMessage
from domain.tokens import estimate_tokens
from tests.fakes.chat_model import FakeChatModel
from tests.support.postgres import empty_postgres_url

AGENT = 1000002
RESPONSE_URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC"


def app_message(msg_id: str, content: str, user: str = "zhangsan", chat: str = ""):
    # channel "app": what a message of the old code's self-built app held.
    return InboundMessage(
        "text", user, 1_700_000_000, AGENT, msg_id=msg_id, content=content, chat_id=chat,
        channel="app",
    )


def bot_message(msg_id: str, content: str, user: str = "lisi", chat: str = ""):
    return InboundMessage(
        "text", user, 1_700_000_100, 0, msg_id=msg_id, content=content, chat_id=chat,
        channel="aibot", response_url=RESPONSE_URL,
    )


def answered_stream(stream: str, conversation: str, message: InboundMessage, answer: str):
    """A message's events as the old code recorded them: received, answered, sent, delivered."""
    where = {"stream_id": stream, "conversation_id": conversation}
    return [
        MessageReceived(version=1, message=message, **where),
        AnswerComposed(
            version=2, to_user=message.from_user, to_chat=message.chat_id, text=answer,
            parts=(answer,), prompt=message.content, answer=answer, **where,
        ),
        ReplyPartSent(version=3, index=0, **where),
        ReplyDelivered(version=4, **where),
    ]


LEGACY: list[list[Event]] = [
    answered_stream(
        f"msg:{AGENT}:5001", f"user:{AGENT}:zhangsan", app_message("5001", "我叫张三"), "记住了"
    ),
    answered_stream(
        f"msg:{AGENT}:5002", f"group:{AGENT}:wrkNankai",
        app_message("5002", "周会几点", chat="wrkNankai"), "周三十点",
    ),
    answered_stream(
        f"msg:{AGENT}:5003", f"group:{AGENT}:wrkNankai:wangwu",
        app_message("5003", "我的工位", user="wangwu", chat="wrkNankai"), "三楼",
    ),
    [  # an event: no MsgId, keyed on sender and time; received and not yet handled
        MessageReceived(
            stream_id=f"event:{AGENT}:zhangsan:1700000050",
            version=1,
            conversation_id=f"user:{AGENT}:zhangsan",
            message=InboundMessage(
                "event", "zhangsan", 1_700_000_050, AGENT, event="enter_agent", channel="app"
            ),
        )
    ],
    answered_stream("aibot:BOTMSG1", "aibot:user:lisi", bot_message("BOTMSG1", "我在三楼"), "好的"),
    answered_stream(
        "aibot:BOTMSG2", "aibot:group:wrkTeam:lisi",
        bot_message("BOTMSG2", "@小知 在吗", chat="wrkTeam"), "在",
    ),
]
# Received before the upgrade, not answered yet: the upgrade must leave it pending.
PENDING = MessageReceived(
    stream_id=f"msg:{AGENT}:5009",
    version=1,
    conversation_id=f"user:{AGENT}:lisi",
    message=app_message("5009", "还没回答", user="lisi"),
)
# Recorded with channels already (an app "hr" next to the seed's): left as it is.
NEW = answered_stream(
    "app:hr/msg:5001", "app:hr/user:zhangsan",
    InboundMessage("text", "zhangsan", 1_700_000_000, 1000003, msg_id="5001", content="请假",
                   channel="app:hr"),
    "找 HR",
)


def test_each_old_key_shape_names_its_channel():
    assert [
        channel_stream_id(key)
        for key in (f"msg:{AGENT}:5001", f"event:{AGENT}:zhangsan:17", "aibot:a1b2", "app:hr/msg:1")
    ] == [
        "app:default/msg:5001", "app:default/event:zhangsan:17", "aibot:default/msg:a1b2",
        "app:hr/msg:1",
    ]
    assert [
        channel_conversation_id(key)
        for key in (
            f"user:{AGENT}:zhangsan", f"group:{AGENT}:wrk1", f"group:{AGENT}:wrk1:lisi",
            "aibot:user:lisi", "aibot:group:wrk2", "aibot:group:wrk2:lisi",
            "aibot:team/user:lisi", "app:default/user:zhangsan",
        )
    ] == [
        "app:default/user:zhangsan", "app:default/group:wrk1", "app:default/group:wrk1:lisi",
        "aibot:default/user:lisi", "aibot:default/group:wrk2", "aibot:default/group:wrk2:lisi",
        "aibot:team/user:lisi", "app:default/user:zhangsan",
    ]


class Notified:
    def __init__(self) -> None:
        self.conversations: list[str] = []

    def notify(self, conversation_id: str) -> None:
        self.conversations.append(conversation_id)


async def keys_of(engine, table) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(table.c.stream_id, table.c.conversation_id).order_by(table.c.position)
        )
        return [tuple(row) for row in rows]


class LegacyKeysMigrationContract:
    @pytest.fixture
    def url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    async def engine(self, url, monkeypatch):
        """A database at the schema before channels (version 2), holding what the old code
        recorded; BATCH is small, so the rewrite takes several batches."""
        engine = build_engine(url)
        with monkeypatch.context() as before_channels:
            before_channels.setattr(sqlalchemy_migrations, "MIGRATIONS", MIGRATIONS[:2])
            await migrate(engine)
        old_store = SqlAlchemyEventStore(engine)
        for stream in [*LEGACY, [PENDING], NEW]:
            await old_store.append(stream)
        monkeypatch.setattr(sqlalchemy_legacy_keys, "BATCH", 3)
        yield engine
        await engine.dispose()

    async def test_memory_continues_and_a_pre_upgrade_retry_is_still_a_duplicate(self, engine):
        assert await migrate(engine) == len(MIGRATIONS) - 2  # this one and those after it
        store = SqlAlchemyEventStore(engine)
        notified = Notified()
        accept_app = AcceptMessage(store, notified)
        accept_bot = AcceptMessage(store, notified, group_memory="member")

        # WeCom retries a message answered before the upgrade: taken already, not again.
        retried = InboundMessage("text", "zhangsan", 1_700_000_000, AGENT, msg_id="5001",
                                 content="我叫张三", channel="app:default")
        retried_bot = InboundMessage("text", "lisi", 1_700_000_100, 0, msg_id="BOTMSG2",
                                     content="@小知 在吗", chat_id="wrkTeam",
                                     channel="aibot:default")
        assert not await accept_app(retried)
        assert not await accept_bot(retried_bot)

        # A new question after the upgrade is asked with what was said before it.
        asked = InboundMessage("text", "zhangsan", 1_700_001_000, AGENT, msg_id="6001",
                               content="我叫什么？", channel="app:default")
        asked_bot = InboundMessage("text", "lisi", 1_700_001_000, 0, msg_id="BOTMSG3",
                                   content="我在哪？", channel="aibot:default")
        assert await accept_app(asked) and await accept_bot(asked_bot)
        model = FakeChatModel()
        ask = AskWithMemory(
            store, model, estimate_tokens, "", 4000, 1000, blobs=SqlAlchemyBlobStore(engine)
        )
        for message in (asked, asked_bot):
            [received] = await store.read_stream(message.dedup_key)
            await ask(received, message.content)
        prompts = [[m.content for m in messages] for messages, _ in model.calls]
        assert prompts == [["我叫张三", "记住了", "我叫什么？"], ["我在三楼", "好的", "我在哪？"]]
        assert notified.conversations == ["app:default/user:zhangsan", "aibot:default/user:lisi"]

    async def test_every_table_names_the_channel_and_a_second_run_changes_nothing(self, engine):
        await migrate(engine)

        assert sorted(set(await keys_of(engine, events))) == sorted([
            ("aibot:default/msg:BOTMSG1", "aibot:default/user:lisi"),
            ("aibot:default/msg:BOTMSG2", "aibot:default/group:wrkTeam:lisi"),
            ("app:default/event:zhangsan:1700000050", "app:default/user:zhangsan"),
            ("app:default/msg:5001", "app:default/user:zhangsan"),
            ("app:default/msg:5002", "app:default/group:wrkNankai"),
            ("app:default/msg:5003", "app:default/group:wrkNankai:wangwu"),
            ("app:default/msg:5009", "app:default/user:lisi"),
            ("app:hr/msg:5001", "app:hr/user:zhangsan"),
        ])
        pending = [
            ("app:default/event:zhangsan:1700000050", "app:default/user:zhangsan"),
            ("app:default/msg:5009", "app:default/user:lisi"),
        ]
        assert await keys_of(engine, pending_messages) == pending
        store = SqlAlchemyEventStore(engine)
        assert [(p.stream_id, p.conversation_id) for p in await store.pending()] == pending
        indexed = await keys_of(engine, received_messages)
        assert [stream for stream, _ in indexed] == [
            "app:default/msg:5001", "app:default/msg:5002", "app:default/msg:5003",
            "app:default/event:zhangsan:1700000050", "aibot:default/msg:BOTMSG1",
            "aibot:default/msg:BOTMSG2", "app:default/msg:5009", "app:hr/msg:5001",
        ]
        # The operator's view finds the old messages under their channel.
        found = await store.received(10, channel="aibot:default")
        assert [entry.msg_id for entry in found] == ["BOTMSG2", "BOTMSG1"]

        before = {table: await keys_of(engine, table) for table in (events, pending_messages)}
        async with engine.begin() as conn:
            await conn.run_sync(prefix_legacy_keys)
        assert {table: await keys_of(engine, table) for table in before} == before
        assert await migrate(engine) == 0
        assert await schema_version(engine) == len(MIGRATIONS)

    async def test_a_message_whose_new_id_is_taken_keeps_its_old_one(self, engine):
        # A version with channels ran on this database before the migration and took a WeCom
        # retry of message 5001 under its new id.
        retry = InboundMessage("text", "zhangsan", 1_700_000_000, AGENT, msg_id="5001",
                               content="我叫张三", channel="app:default")
        await SqlAlchemyEventStore(engine).append([
            MessageReceived(stream_id=retry.dedup_key, version=1,
                            conversation_id=retry.conversation_id, message=retry)
        ])

        assert await migrate(engine) == len(MIGRATIONS) - 2  # this one and those after it

        keys = await keys_of(engine, events)
        assert keys.count((f"msg:{AGENT}:5001", "app:default/user:zhangsan")) == 4
        assert keys.count(("app:default/msg:5001", "app:default/user:zhangsan")) == 1
        assert ("app:default/msg:5002", "app:default/group:wrkNankai") in keys


class TestSqlite(LegacyKeysMigrationContract):
    @pytest.fixture
    def url(self, tmp_path) -> str:
        return f"sqlite:///{tmp_path}/before-channels.db"


class TestPostgres(LegacyKeysMigrationContract):
    @pytest.fixture
    def url(self) -> str:
        return empty_postgres_url()
