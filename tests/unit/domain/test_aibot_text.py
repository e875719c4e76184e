"""What an AI bot stream shows: never taking back a word, reasoning hidden unless wanted,
WeCom's 20480-byte limit kept."""

import time

from hypothesis import given
from hypothesis import strategies as st

from domain.aibot_text import (
    CONTINUED,
    CUT,
    LIVE_LIMIT_BYTES,
    STREAM_LIMIT_BYTES,
    TAKING_LONGER,
    LiveAnswer,
    fit,
    live_content,
    stream_parts,
    taking_longer,
    visible_text,
)

# Text rich in the pieces of the tags, so that half-written tags come up often.
TEXTISH = st.text(alphabet=st.sampled_from(list("<think>/</think>ab 答\n")), max_size=60)


def size(text: str) -> int:
    return len(text.encode("utf-8"))


@given(raw=TEXTISH, cut=st.integers(min_value=0, max_value=60))
def test_what_is_shown_of_a_partial_answer_is_never_taken_back(raw, cut):
    for show_thinking in (False, True):
        earlier = visible_text(raw[:cut], show_thinking)
        assert visible_text(raw, show_thinking).startswith(earlier)


def test_reasoning_is_dropped_with_the_space_after_it():
    raw = "<think>用户问天气，我应该……</think>\n\n明天晴。"
    assert visible_text(raw, show_thinking=False) == "明天晴。"
    assert visible_text(raw, show_thinking=True) == raw


def test_reasoning_still_being_written_is_held_back():
    assert visible_text("前言<think>还在想", show_thinking=False) == "前言"
    assert visible_text("答案是 <thi", show_thinking=False) == "答案是 "
    assert visible_text("a < b", show_thinking=False) == "a < b"


def test_several_reasoning_sections_all_disappear():
    raw = "<think>x</think>一<think>y</think> 二"
    assert visible_text(raw, show_thinking=False) == "一二"


@given(st.text(max_size=300), st.integers(min_value=0, max_value=300))
def test_live_content_and_the_final_parts_extend_each_other(text, cut):
    # Long texts are made by repetition: the limit is 20 KB.
    text = text * 200
    shown = live_content(text[: cut * 200])
    final = stream_parts(text)[0]
    assert final.startswith(shown) or final.removesuffix(CONTINUED).startswith(shown)
    assert size(shown) <= LIVE_LIMIT_BYTES
    assert taking_longer(shown).startswith(shown)


def test_an_answer_within_the_limit_is_one_part():
    answer = "好" * (STREAM_LIMIT_BYTES // 3)
    assert stream_parts(answer) == (answer,)


def test_a_longer_answer_is_continued_in_a_second_part_and_nothing_is_lost():
    answer = "".join(f"第{i}段。" for i in range(2000))
    assert STREAM_LIMIT_BYTES < size(answer) < 2 * LIVE_LIMIT_BYTES
    head, rest = stream_parts(answer)
    assert head.endswith(CONTINUED)
    assert size(head) <= STREAM_LIMIT_BYTES
    assert head.removesuffix(CONTINUED) + rest == answer


def test_what_does_not_fit_even_two_messages_is_cut_with_a_note():
    answer = "字" * 20000  # 60 KB
    head, rest = stream_parts(answer)
    assert size(rest) <= STREAM_LIMIT_BYTES and rest.endswith(CUT)
    assert fit(answer).endswith(CUT) and size(fit(answer)) <= STREAM_LIMIT_BYTES
    assert fit("短") == "短"


def test_a_stream_closed_early_says_the_answer_will_follow():
    closed = taking_longer("正在写")
    assert closed == "正在写" + TAKING_LONGER
    assert size(taking_longer("长" * 10000)) <= STREAM_LIMIT_BYTES


@given(
    raw=TEXTISH,
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=12),
    prefix=st.sampled_from(["", "前缀 "]),
    show_thinking=st.booleans(),
)
def test_a_live_answer_shows_what_the_whole_text_so_far_would(raw, cuts, prefix, show_thinking):
    live = LiveAnswer(prefix, show_thinking)
    bounds = [0, *sorted(set(cuts)), len(raw)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        live.add(raw[start:end])
        expected = live_content(prefix + visible_text(raw[:end], show_thinking))
        assert live.content == expected


def test_a_live_answer_takes_linear_time_for_a_long_answer_in_tiny_pieces():
    live = LiveAnswer("", show_thinking=False)
    pieces = ["<think>", *["想" for _ in range(200_000)], "</think>\n"] + ["答" * 3] * 200_000
    started = time.perf_counter()
    changed = sum(live.add(piece) is not None for piece in pieces)
    elapsed = time.perf_counter() - started
    assert size(live.content) <= LIVE_LIMIT_BYTES
    assert changed < 3000  # of 400,002 pieces: the board stops changing once it is full
    assert elapsed < 2.0  # re-reading the answer for each piece took minutes
