"""A PostgreSQL cluster of a test's own, which the test may stop and start: never the shared
one other tests use (WEWORKTOP_TEST_POSTGRES_URL).

initdb runs in a temporary folder on a free port, listening on 127.0.0.1 only, with trust
authentication for its one user. As root, the cluster belongs to the `postgres` user (the
server refuses to run as root). Without PostgreSQL's binaries the test is skipped with the
reason, or fails when WEWORKTOP_REQUIRE_POSTGRES=1 (as in CI).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.live_server import free_port

USER = "weworktop"


def postgres_binaries() -> Path | None:
    """The folder of initdb and pg_ctl, or None where PostgreSQL's server is not installed."""
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    # Debian and Ubuntu keep the server's binaries off PATH.
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(versions[0]).parent if versions else None


def _missing(reason: str) -> None:
    if os.environ.get("WEWORKTOP_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"WEWORKTOP_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


class PrivateCluster:
    def __init__(self, bin_dir: Path, folder: Path, run_as: str | None, fsync: bool):
        self._bin = bin_dir
        self._fsync = fsync
        self._data = folder / "data"
        self._log = folder / "server.log"
        self._folder = folder
        self._run_as = run_as
        self.port = free_port()
        # The database initdb creates: the cluster is the test's alone.
        self.url = f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run("initdb", "-D", str(self._data), "-U", USER, "-A", "trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        # fsync=off unless asked for: the cluster is thrown away after the test, and on a busy
        # disk the shutdown checkpoint of a stop could otherwise take longer than the outage
        # itself. A stop and start are still clean ones; only a crash of the machine could
        # lose data. A benchmark of commits asks for fsync, as production has it.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._folder}"
        if not self._fsync:
            options += " -c fsync=off"
        self._run("pg_ctl", "-D", str(self._data), "-l", str(self._log), "-o", options, "-w",
                  "start")

    def stop(self) -> None:
        """Fast shutdown: sessions are ended at once, as in a restart or a failover."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._run_as:
            command = ["runuser", "-u", self._run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)


@contextmanager
def private_cluster(*, fsync: bool = False) -> Iterator[PrivateCluster]:
    bin_dir = postgres_binaries()
    if bin_dir is None:
        _missing("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    run_as = None
    folder = Path(tempfile.mkdtemp(prefix="weworktop-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            _missing("running as root, and there is no `postgres` user to run PostgreSQL as")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        run_as = "postgres"
    cluster = PrivateCluster(bin_dir, folder, run_as, fsync)
    try:
        cluster.init()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
