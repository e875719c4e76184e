"""The stream board: what the operator's view and the sandbox can read, and bounded memory."""

from application.channels.aibot.stream_board import StreamBoard
from tests.unit.application.conftest import FakeClock


def test_views_show_each_stream_as_it_grows_newest_first():
    board = StreamBoard(clock=FakeClock())
    board.start("A", "aibot:A", deadline=2e9)
    board.start("B", "aibot:B", deadline=2e9)
    board.write("A", "半句")
    board.stop("B")

    assert [(v.stream_id, v.content, v.writing) for v in board.views()] == [
        ("B", "", False), ("A", "半句", True),
    ]
    assert board.view("A").message_key == "aibot:A" and board.view("C") is None


def test_finished_streams_are_forgotten_and_the_board_never_outgrows_its_bound():
    clock = FakeClock()
    board = StreamBoard(max_streams=3, keep_seconds=60, clock=clock)
    board.start("old", "aibot:old", deadline=2e9)
    board.stop("old")
    clock.now += 61
    board.start("new", "aibot:new", deadline=2e9)
    assert board.view("old") is None

    for name in ("a", "b", "c", "d"):
        board.start(name, f"aibot:{name}", deadline=2e9)
    assert [v.stream_id for v in board.views()] == ["d", "c", "b"]


def test_writing_to_a_forgotten_stream_changes_nothing():
    board = StreamBoard(clock=FakeClock())
    board.write("gone", "text")
    board.stop("gone")
    assert board.views() == []
