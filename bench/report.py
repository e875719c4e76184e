"""Figures, the summary table, and a description of the machine they were measured on."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its same-run baseline.

    `ratio` is ours / baseline; `target` says in words what passes, and `met` whether it did
    (None where a figure is only context for another one).
    """

    bench: str
    metric: str
    ours: float
    baseline: float
    baseline_is: str
    unit: str
    target: str
    met: bool | None

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline


def number(value: float, unit: str = "") -> str:
    """Three significant digits, which is all a noisy 2-core machine can vouch for."""
    if value == int(value) and abs(value) < 1e6:
        text = f"{int(value)}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


_HEADER = ("#", "figure", "ours", "baseline", "ratio", "target", "met")


def table(figures: Sequence[Figure]) -> str:
    """A markdown table: readable in a terminal and pasted as is into BENCHMARKS.md."""
    rows = [
        (
            f.bench,
            f.metric,
            number(f.ours, f.unit),
            f"{number(f.baseline, f.unit)} ({f.baseline_is})",
            f"{f.ratio:.2f}" if f.baseline else "n/a",
            f.target,
            {True: "yes", False: "NO", None: ""}[f.met],
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in [_HEADER, *rows]) for i in range(len(_HEADER))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(_HEADER), rule, *map(line, rows)])


def machine() -> str:
    """nproc, CPU model, RAM and Python: what a reader needs to compare two runs."""
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for entry in cpuinfo:
            if entry.startswith("model name"):
                model = entry.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        kib = int(next(e for e in meminfo if e.startswith("MemTotal")).split()[1])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{len(os.sched_getaffinity(0))} cores ({model}), {kib / 1024**2:.1f} GiB RAM, "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}; "
        f"load average at start {load}"
    )
