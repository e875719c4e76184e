"""Where the service spends its time, sampled by py-spy from outside the real process:

    .venv/bin/python -m bench.profile [--seconds 8] [--concurrency 64] [--out DIR]

Two phases, each sampled while it runs: "intake" (callbacks from 500 members at 64 concurrent,
as benchmark 1 sends them, or at --concurrency) and "replies" (the service answering a burst of
3,000 new members, as in benchmark 5). py-spy must be allowed to ptrace the service (root, or
kernel.yama.ptrace_scope=0). The raw samples are kept in DIR for flame graphs; the summary
prints, per phase, the functions with the most samples on the CPU: self (the function itself)
and inclusive (with what it calls), for our code and the libraries it calls.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import uvloop

from bench import store_probe
from bench.load import CallbackMaker, closed_loop
from bench.processes import WeComApp

PY_SPY = Path(sys.executable).with_name("py-spy")
SAMPLES_PER_SECOND = 200
# More callbacks a second than the service takes on this machine, so the load lasts.
MAX_RATE = 600
TOP = 18


def main() -> None:
    parser = argparse.ArgumentParser(description="profile the service under benchmark load")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--concurrency", type=int, default=64, help="callbacks in flight in the intake phase"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="weworktop-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    app = WeComApp()
    db = out / "profile.db"
    maker = CallbackMaker(app)
    with (
        app.standin(out) as wecom,
        app.service(out / "service", wecom.base_url, db) as service,
    ):
        uvloop.run(closed_loop(service.callback_url, maker.make(300, 500), 16, 30))
        store_probe.wait_drained(db, timeout=120)

        # Signed before sampling starts, or the sample would show an idle service.
        callbacks = maker.make(int(MAX_RATE * (args.seconds + 1)), 500)
        intake = _record(service.pid, out / "intake.txt", args.seconds)
        uvloop.run(
            closed_loop(service.callback_url, callbacks, args.concurrency, args.seconds + 1)
        )
        intake.wait()
        store_probe.wait_drained(db, timeout=300)

        burst = maker.make(3000, None)
        uvloop.run(closed_loop(service.callback_url, burst, 64, 60))
        replies = _record(service.pid, out / "replies.txt", args.seconds)
        replies.wait()
    for phase in ("intake", "replies"):
        print(summary(phase, out / f"{phase}.txt"))
    print(f"raw samples (py-spy --format raw, for flame graphs): {out}")


def _record(pid: int, path: Path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(PY_SPY), "record", "--pid", str(pid), "--rate", str(SAMPLES_PER_SECOND),
            "--duration", str(int(seconds)), "--format", "raw", "--output", str(path),
            "--nonblocking",  # sampling without pausing the service keeps its timing honest
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # py-spy attaches before the load starts
    return process


def summary(phase: str, raw: Path) -> str:
    """Top functions by self and inclusive samples, as shares of all on-CPU samples."""
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_short(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        samples = int(count)
        total += samples
        self_samples[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"\n== {phase}: {total} samples on the CPU"]
    for title, counter in (("self", self_samples), ("inclusive", inclusive)):
        lines.append(f"-- {title}")
        lines += [
            f"{n / total:6.1%}  {frame}" for frame, n in counter.most_common(TOP + 8)
            if not _plumbing(frame)
        ][:TOP]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """`func (path/to/module.py:LINE)` -> `func (module path)`: lines split one function."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "python3.11/"):
        where = where.split(marker, 1)[-1]
    return f"{name} ({where})"


def _plumbing(frame: str) -> bool:
    """Frames every sample passes through (the interpreter's start, uvicorn's run loop)."""
    return any(
        part in frame
        for part in ("<module>", "main (app.py", "run (uvicorn", "Server.run", "asyncio_run",
                     "Runner.run", "Thread._bootstrap", "Thread.run")
    )


if __name__ == "__main__":
    main()
