"""The SQLAlchemy store tells a store that cannot write (here SQLite's full file) as
StoreUnavailable, without a statement's parameters, and the spool keeps what it is given."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_event_store import SqlAlchemyEventStore
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from adapters.outbound.persistence.sqlite_message_spool import SqliteMessageSpool
from adapters.outbound.persistence.store_errors import is_unavailable
from application.ports.event_store import ConcurrencyConflict, StoreUnavailable
from application.ports.message_spool import SpoolRefused
from tests.support.events import received, text_message
from tests.support.stores import fill_sqlite

SECRET_TEXT = "会员的私密内容" * 200  # bigger than a page: the full file cannot take it


async def test_a_full_sqlite_file_is_store_unavailable_without_the_members_text(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path}/events.db")
    await migrate(engine)
    store = SqlAlchemyEventStore(engine)
    first = received(text_message("hello", "1"))
    await store.append([first])
    await fill_sqlite(store, full=True)
    with pytest.raises(StoreUnavailable) as caught:
        await store.append([received(text_message(SECRET_TEXT, "2"))])
    assert "full" in str(caught.value)
    assert "私密" not in str(caught.value) and caught.value.__cause__ is None
    with pytest.raises(ConcurrencyConflict):  # a constraint is still a conflict
        await store.append([first])
    await engine.dispose()


async def test_the_spool_keeps_messages_in_order_once_each_within_its_bound(tmp_path):
    path = tmp_path / "private" / "spool.db"
    spool = SqliteMessageSpool(path, max_messages=2)
    spool.open()
    assert await spool.put(received(text_message("a", "1")))
    assert not await spool.put(received(text_message("a again", "1")))
    assert await spool.put(received(text_message("b", "2")))
    with pytest.raises(SpoolRefused):
        await spool.put(received(text_message("c", "3")))
    spool.close()

    again = SqliteMessageSpool(path, max_messages=2)
    again.open()  # what a crash left is still there, in order
    waiting = await again.oldest(10)
    assert again.count == 2
    assert [r.message.content for _, r in waiting] == ["a", "b"]
    await again.remove(waiting[0][0])
    assert again.count == 1
    again.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


@pytest.mark.parametrize(
    ("error", "passes"),
    [("full", True), ("readonly", True), ("no such table", False), ("constraint", False)],
)
def test_which_sqlite_errors_mean_unavailable(error, passes):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    db.execute("INSERT INTO t VALUES (1)")
    try:
        if error == "full":
            db.execute("PRAGMA max_page_count = 1")
            db.execute("CREATE TABLE u (v TEXT)")
            db.executemany("INSERT INTO u VALUES (?)", [("x" * 5000,)] * 10)
        elif error == "readonly":
            db.execute("PRAGMA query_only = 1")
            db.execute("INSERT INTO t VALUES (2)")
        elif error == "no such table":
            db.execute("SELECT * FROM missing")
        else:
            db.execute("INSERT INTO t VALUES (1)")
    except sqlite3.Error as err:
        assert is_unavailable(err) is passes
    else:
        pytest.fail(f"{error}: no error raised")
