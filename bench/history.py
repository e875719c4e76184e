"""3. History cost: building a prompt's memory for a conversation with a long past.

MemoryReader.window runs on the real SqlAlchemyEventStore over a SQLite file, for the message
that follows 100,000 events of one conversation, against the message that follows 10 events
of another conversation in the same file; and for a new member's first message, recorded
after all of those (an empty memory: reading it must not walk the others' events). A
conversation's past is what the service records: for each message MessageReceived,
AnswerComposed, ReplyPartSent and ReplyDelivered. It is written straight into the events
table in one transaction (the store's own append would take one commit per message, minutes
for this much), with the store's own row format.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import uvloop
from sqlalchemy import insert

from adapters.outbound.persistence.event_serialization import to_row
from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_event_store import SqlAlchemyEventStore
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from adapters.outbound.persistence.sqlalchemy_schema import events
from application.pipeline.memory_reader import MemoryReader
from bench.report import Figure
from domain.events import AnswerComposed, Event, MessageReceived, ReplyDelivered, ReplyPartSent
from domain.memory import history_budget
from domain.messages import InboundMessage
from domain.tokens import estimate_tokens
from infrastructure.config import DEFAULT_SYSTEM_PROMPT

# The past the issue names (10 against 100,000 events), and a past just long enough to fill the
# prompt's window: against that one only the length of the history differs, not the window.
SHORT, FULL, LONG = 10, 1_000, 100_000
# A member with no past at all: their memory is empty, whatever the log holds before it.
NEW = 0
CONVERSATION_MAX_TOKENS = 4000  # the documented default
ROUNDS, CALLS_PER_ROUND = 7, 40
# About 150 tokens a turn: the default budget then holds some 25 turns.
PROMPT = "请问我们下周的项目评审需要准备哪些材料？"
ANSWER = "下周评审请准备：一、项目进度报告；二、预算执行情况；三、风险清单与应对措施。" * 3


def run(workdir: Path) -> list[Figure]:
    return uvloop.run(_run(workdir / "history.db"))


async def _run(db: Path) -> list[Figure]:
    engine = build_engine(f"sqlite:///{db}")
    try:
        await migrate(engine)
        store = SqlAlchemyEventStore(engine)
        # A new member's first message comes last, with the others' events all before it.
        pasts = {
            n: await _conversation(engine, store, f"user{n}", n) for n in (SHORT, FULL, LONG, NEW)
        }
        reader = MemoryReader(store, estimate_tokens)
        budget = history_budget(
            CONVERSATION_MAX_TOKENS, DEFAULT_SYSTEM_PROMPT, PROMPT, estimate_tokens
        )
        times: dict[int, list[float]] = {n: [] for n in pasts}
        turns: dict[int, int] = {}
        for _ in range(ROUNDS):  # alternating, so the machine's noise falls on all alike
            for n, (conversation, position) in pasts.items():
                for _ in range(CALLS_PER_ROUND):
                    start = time.perf_counter()
                    window = await reader.window(conversation, position, budget)
                    times[n].append(time.perf_counter() - start)
                turns[n] = len(window)
    finally:
        await engine.dispose()
    ms = {n: statistics.median(t) * 1e3 for n, t in times.items()}
    others = SHORT + FULL + LONG + 3
    new_member = Figure(
        "3 history", f"prompt memory of a new member after {others:,} events of others",
        ms[NEW], ms[SHORT], f"{SHORT:,} events, {turns[SHORT]} turns", "ms", "ratio ≤ 2",
        ms[NEW] <= 2 * ms[SHORT],
    )
    return [new_member] + [
        Figure(
            "3 history", f"prompt memory after {LONG:,} events ({turns[LONG]} turns fit)",
            ms[LONG], ms[base], f"{base:,} events, {turns[base]} turns", "ms", target,
            ms[LONG] <= 2 * ms[base],
        )
        for base, target in ((SHORT, "ratio ≤ 2"), (FULL, "ratio ≤ 2 (same window)"))
    ]


async def _conversation(engine, store, user: str, past_events: int) -> tuple[str, int]:
    """Records `past_events` events of `user`'s conversation, then a new message; returns the
    conversation and the new message's position, which is what HandleMessage reads before."""
    rows = [to_row(event) for event in _past(user, past_events)]
    if rows:
        async with engine.begin() as conn:
            await conn.execute(insert(events), rows)
    new = _received(_message(user, past_events + 1))
    await store.append([new])
    return new.conversation_id, await store.position_of(new.stream_id, new.version)


def _past(user: str, count: int) -> list[Event]:
    past: list[Event] = []
    n = 0
    while len(past) < count:
        n += 1
        message = _message(user, n)
        received = _received(message)
        common = {"stream_id": received.stream_id, "conversation_id": received.conversation_id}
        past += [
            received,
            AnswerComposed(
                **common, version=2, to_user=user, text=ANSWER, parts=(ANSWER,),
                prompt=PROMPT, answer=ANSWER,
            ),
            ReplyPartSent(**common, version=3, index=0, wecom_msg_id=f"m{n}"),
            ReplyDelivered(**common, version=4),
        ]
    return past[:count]


def _message(user: str, n: int) -> InboundMessage:
    return InboundMessage(
        msg_type="text", from_user=user, create_time=1_700_000_000 + n, agent_id=1000002,
        msg_id=f"{user}-{n}", content=PROMPT,
    )


def _received(message: InboundMessage) -> MessageReceived:
    return MessageReceived(
        stream_id=message.dedup_key, version=1, conversation_id=message.conversation_id,
        message=message,
    )
