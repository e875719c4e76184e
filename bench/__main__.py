"""`python -m bench [NAME ...]`: run the benchmarks (all by default) and print one table.

Names: intake, intake_pg, crypto, history, reply, memory, tokens, usage, export, link, burst,
echo, outage, http. Each benchmark starts its own servers on 127.0.0.1 in a fresh temporary
folder and stops them before the next one begins (intake_pg: on WEWORKTOP_BENCH_POSTGRES_URL's
database, else on a PostgreSQL cluster of its own; outage: on a cluster of its own).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import (
    aibot_link,
    burst,
    crypto_path,
    governance,
    history,
    http_client,
    intake,
    memory,
    outage,
    reply_latency,
    token_fetches,
)
from bench.report import Figure, machine, table

BENCHMARKS: dict[str, Callable[[Path], list[Figure]]] = {
    "intake": intake.run,
    "intake_pg": intake.run_postgres,
    "crypto": lambda _: crypto_path.run(),
    "history": history.run,
    "reply": reply_latency.run,
    "memory": memory.run,
    "tokens": token_fetches.run,
    "usage": governance.run_projection,
    "export": governance.run_export,
    "link": aibot_link.run,
    "burst": burst.run_burst,
    "echo": burst.run_echo,
    "outage": outage.run,
    "http": http_client.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from the help")
    print(f"machine: {machine()}", flush=True)
    figures: list[Figure] = []
    failed: list[str] = []
    started = time.monotonic()
    for name in args.names or BENCHMARKS:
        print(f"running {name} …", flush=True)
        begun = time.monotonic()
        try:
            with tempfile.TemporaryDirectory(prefix=f"weworktop-bench-{name}-") as workdir:
                figures += BENCHMARKS[name](Path(workdir))
        except Exception:
            # One broken benchmark must not hide the others' figures.
            traceback.print_exc()
            failed.append(name)
        print(f"  {name} took {time.monotonic() - begun:.0f} s", flush=True)
    print(f"\n{table(figures)}\n")
    missed = sum(1 for figure in figures if figure.met is False)
    print(
        f"{len(figures)} figures in {time.monotonic() - started:.0f} s; "
        f"{missed} targets missed" + (f"; failed to run: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
