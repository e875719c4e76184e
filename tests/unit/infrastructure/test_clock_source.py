"""The test-only clock offset: off unless set, refused when it is not a number."""

from __future__ import annotations

import time

import pytest

from infrastructure.clock_source import (
    CLOCK_OFFSET_ENV,
    clock_offset,
    offset_warning,
    service_clock,
)


def test_unset_or_empty_means_the_hosts_clock():
    assert clock_offset({}) == 0.0
    assert clock_offset({CLOCK_OFFSET_ENV: "  "}) == 0.0
    assert service_clock(0.0) is time.time


@pytest.mark.parametrize(("raw", "offset"), [("60", 60.0), ("-600", -600.0), ("1.5", 1.5)])
def test_a_number_of_seconds_shifts_the_clock(raw, offset):
    assert clock_offset({CLOCK_OFFSET_ENV: raw}) == offset
    assert abs(service_clock(offset)() - time.time() - offset) < 1


@pytest.mark.parametrize("raw", ["soon", "60s", "nan", "inf", "1e999"])
def test_anything_else_is_refused_with_one_line_naming_the_variable(raw):
    with pytest.raises(ValueError) as refused:
        clock_offset({CLOCK_OFFSET_ENV: raw})
    assert str(refused.value) == f"{CLOCK_OFFSET_ENV}: '{raw}' is not a number of seconds"


def test_the_warning_says_test_only_and_which_way():
    assert offset_warning(60).startswith("TEST ONLY: WEWORKTOP_CLOCK_OFFSET_SECONDS=60:")
    assert "60 s ahead of the host's" in offset_warning(60)
    assert "600 s behind the host's" in offset_warning(-600)
