"""Tests report their figures (replies, calls, limits measured…) at the end of the run."""

from __future__ import annotations

import pytest

_FIGURES = pytest.StashKey[list[str]]()


def pytest_configure(config):
    config.stash[_FIGURES] = []


@pytest.fixture
def figures(request):
    """`figures(line)` adds a line to the end-of-run report, named after the test."""

    def record(line: str) -> None:
        request.config.stash[_FIGURES].append(f"{request.node.name}: {line}")

    return record


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
