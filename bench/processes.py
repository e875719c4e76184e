"""Starting and stopping the processes of a benchmark: the real service (`python app.py`) and
the helper servers of bench.helper_apps, all on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.helper_apps import BENCH_AGENT_ID, BENCH_CORP_ID
from bench.store_probe import database_url
from tests.support.e2e import random_key, service_config
from tests.support.live_server import free_port
from tests.support.service_process import ROOT, ServiceProcess, wait_until


class _StopsOnExit:
    """`with server:` stops it however the block ends, so no process outlives a benchmark."""

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


class HelperServer(_StopsOnExit):
    """`python -m bench.helper_apps KIND …` in its own process, started at once."""

    def __init__(self, kind: str, workdir: Path, *args: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "bench.helper_apps", kind, "--port", str(self.port), *args]
        self._log = (workdir / f"{kind}-{self.port}.log").open("ab")
        self._process = subprocess.Popen(
            argv, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_until(self._ready, timeout=30, what=f"the {kind} helper server")

    @property
    def pid(self) -> int:
        return self._process.pid

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/_bench/stats", timeout=30).json()

    def stop(self) -> None:
        _terminate(self._process)
        self._log.close()

    def _ready(self) -> bool:
        if self._process.poll() is not None:
            raise RuntimeError(f"helper server exited with {self._process.returncode}")
        try:
            return httpx.get(f"{self.base_url}/_bench/stats", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


class WeComApp:
    """The credentials one benchmark shares between its WeCom stand-in and its services."""

    def __init__(self) -> None:
        self.corp_id = BENCH_CORP_ID
        self.agent_id = BENCH_AGENT_ID
        self.corp_secret = random_key(32)
        self.token = random_key(32)
        self.aes_key = random_key(43)

    def standin(self, workdir: Path, expires_in: int = 7200) -> HelperServer:
        return HelperServer(
            "wecom", workdir, "--corp-secret", self.corp_secret, "--expires-in", str(expires_in)
        )

    def service(
        self, workdir: Path, wecom_url: str, db: Path | str, llm: dict[str, Any] | None = None
    ) -> BenchService:
        """The service on `db`: a SQLite file, or a database URL."""
        # This object carries both the stand-in's identity and the callback keys, which is
        # all that the tests' config helper reads from the two.
        config = service_config(self, wecom_url, self, database_url(db), llm)
        workdir.mkdir(parents=True, exist_ok=True)
        service = BenchService(config, workdir)
        service.start()
        return service


class BenchService(_StopsOnExit, ServiceProcess):
    """The real service, plus what a benchmark reads from outside: its pid (for RSS and the
    profiler) and its resident memory."""

    @property
    def callback_url(self) -> str:
        return self.base_url + self.config["services"]["weworktop"].get(
            "callback_path", "/wework_callback"
        )

    def rss_mib(self) -> float:
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            kib = next(line for line in status if line.startswith("VmRSS:")).split()[1]
        return int(kib) / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, all its threads, user and system (from /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # Fields 14 and 15 (utime, stime), counted after the parenthesised name.
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuAccount:
    """Where the machine's CPU went over some stretches of a benchmark: each named process,
    PostgreSQL's (when asked), and this process, the load generator. `measure()` around each
    stretch; `describe()` sums them against the machine's capacity over the same time."""

    def __init__(self, processes: dict[str, int], postgres: bool = False):
        self._processes = processes
        self._postgres = postgres
        self._used: dict[str, float] = dict.fromkeys(self._now(), 0.0)
        self._wall = 0.0

    @contextmanager
    def measure(self) -> Iterator[None]:
        before, started = self._now(), time.monotonic()
        yield
        self._wall += time.monotonic() - started
        for name, seconds in self._now().items():
            self._used[name] += seconds - before[name]

    def used(self, name: str) -> float:
        return self._used[name]

    def describe(self) -> str:
        cores = os.cpu_count() or 1
        capacity = cores * self._wall
        split = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self._used.items())
        busy = sum(self._used.values()) / capacity if capacity else 0.0
        return f"CPU s over {cores} cores x {self._wall:.1f} s: {split}; {busy:.0%} of the machine"

    def _now(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self._processes.items()}
        if self._postgres:
            now["PostgreSQL"] = postgres_cpu_seconds()
        now["load"] = time.process_time()
        return now


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on the machine (the benchmark's database
    is on 127.0.0.1; another cluster's work here would be counted too)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except OSError:  # it ended between the listing and the read
            continue
    return total


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
