"""Sliding windows for many members in little memory, and the wait they give."""

import tracemalloc

from domain.sliding_window import WindowLog, wait_time


def test_a_window_under_its_limit_has_no_wait():
    assert wait_time((), 30, 60.0, at=0.0) == 0.0
    assert wait_time([float(n) for n in range(29)], 30, 60.0, at=29.0) == 0.0


def test_a_full_window_waits_until_its_oldest_time_leaves():
    times = [float(n) for n in range(30)]
    assert wait_time(times, 30, 60.0, at=30.0) == 30.0  # the time at 0 leaves at 60
    assert wait_time(times, 30, 60.0, at=60.0) == 0.0


def test_every_limit_is_read_from_one_log():
    # 1000 an hour: 1000 sends spread over 50 minutes fit 30 a minute, not the hour's limit.
    times = [3.0 * n for n in range(1000)]
    at = times[-1] + 3.0
    assert wait_time(times, 30, 60.0, at) == 0.0
    assert wait_time(times, 1000, 3600.0, at) == times[0] + 3600.0 - at


def test_a_time_before_later_ones_is_checked_against_every_window_that_holds_it():
    times = [10.0, 20.0, 40.0]
    assert wait_time(times, 3, 60.0, at=5.0) > 0  # (−5, 55] would hold four
    assert wait_time(times, 4, 60.0, at=5.0) == 0.0


def test_the_log_keeps_each_key_s_times_in_order_within_the_horizon():
    log = WindowLog(horizon=60.0)
    for at in (5.0, 1.0, 3.0):
        log.record("zhangsan", at, now=at)
    assert list(log.recent("zhangsan", now=5.0)) == [1.0, 3.0, 5.0]
    assert list(log.recent("zhangsan", now=62.0)) == [3.0, 5.0]
    assert list(log.recent("zhangsan", now=70.0)) == []
    assert len(log) == 0  # nothing left to remember: the key is gone


def test_keys_that_went_quiet_are_swept():
    log = WindowLog(horizon=60.0)
    for n in range(5000):
        log.record(f"member{n}", n * 0.1, now=n * 0.1)
    assert len(log) < 2100


def test_a_member_costs_about_a_hundred_bytes_not_a_deque_s_760():
    keys = [f"member{n}" for n in range(1000)]
    log = WindowLog(horizon=60.0)
    tracemalloc.start()
    try:
        for n, key in enumerate(keys):
            log.record(key, 1.0 + n / 1000, now=2.0)
        log.record(keys[0], 2.0, now=2.0)  # one member with two times: an array
        used, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert used / len(keys) < 120
