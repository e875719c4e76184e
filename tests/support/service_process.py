"""The real service as a separate process (`python app.py --config …`), for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


# The line the service logs once it listens: until this process has said it, an answer on
# its port could be another program's.
READY = "weworktop ready"


def rss_mib(pid: int) -> float | None:
    """The resident memory of a process, from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            kib = next(line for line in status if line.startswith("VmRSS:")).split()[1]
    except (OSError, StopIteration):
        return None
    return int(kib) / 1024


class ServiceProcess:
    """The config is written to `workdir`; the process starts in `cwd` (by default there too).
    `verify`: how to trust the service's certificate when its config serves HTTPS. `env`:
    variables added to the process's environment at each start (change it between starts)."""

    def __init__(
        self,
        config: dict,
        workdir: Path,
        verify: ssl.SSLContext | bool = True,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        wecom = config["services"]["weworktop"]
        # Always a free port, whatever the config says: 5001 may be a sandbox a person runs.
        wecom["port"] = free_port()
        wecom.setdefault("host", "127.0.0.1")
        self.config = config
        self.port = wecom["port"]
        scheme = "https" if wecom.get("ssl_certfile") else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self.verify = verify
        self.config_path = workdir / "config.json"
        self.config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        self.log_path = workdir / "service.log"
        self.cwd = cwd or workdir
        self.env = env or {}
        self._process: subprocess.Popen | None = None
        self._readies_before = 0

    def start(self) -> None:
        self._readies_before = self.log().count(READY) if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--config", str(self.config_path)],
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
        )
        wait_until(self._healthy, timeout=30, what="the service's /healthz")

    def terminate(self) -> None:
        """SIGTERM without waiting for the process to end (`stop` waits)."""
        self._process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self._process is None:
            return
        self.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        """kill -9: no shutdown code runs, as in a crash or an OOM kill."""
        self._process.kill()
        self._process.wait()
        self._process = None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def pid(self) -> int:
        return self._process.pid

    def rss_mib(self) -> float | None:
        return rss_mib(self.pid)

    def _healthy(self) -> bool:
        if self._process.poll() is not None:
            raise AssertionError(f"the service exited at start-up:\n{self.log()}")
        if self.log().count(READY) <= self._readies_before:
            return False
        try:
            response = httpx.get(f"{self.base_url}/healthz", timeout=1, verify=self.verify)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
