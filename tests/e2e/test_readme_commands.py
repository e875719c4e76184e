"""The README's commands, run as written in a fresh copy of the repository (its tracked and
new files, nothing ignored: no config.json, no data/). The copy's `.venv` is this checkout's,
already installed, so `make` finds it up to date instead of installing again."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import httpx
import pytest

from tests.support.live_server import free_port
from tests.support.sandbox_process import SandboxProcess
from tests.support.service_process import ROOT, wait_until
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE

README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV = ROOT / ".venv"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if not (VENV / ".installed-run").exists():
        pytest.skip("no installed .venv in this checkout (make .venv/.installed-run)")
    folder = tmp_path_factory.mktemp("clone")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    # Older than the venv's stamps (pyproject.toml, the lock files), as after `make`
    # installed it: nothing is installed again into this checkout's venv.
    for copied in folder.rglob("*"):
        if copied.is_file():
            os.utime(copied, (0, 0))
    (folder / ".venv").symlink_to(VENV)
    return folder


def readme_commands(prefix: str) -> set[str]:
    """The commands starting with `prefix` in the README's code spans and blocks."""
    spans = re.findall(r"`([^`\n]+)`", README) + re.findall(r"^(\S.*)$", README, re.M)
    return {
        span.split("  #")[0].strip().rstrip(".") for span in spans if span.startswith(prefix)
    }


def test_no_command_in_the_readme_starts_app_py_with_a_bare_python():
    assert re.findall(r"(?<![\w/.])python3? app\.py", README) == []
    assert ".venv/bin/python app.py --config config.json" in readme_commands(".venv/bin/python")


def test_every_make_command_in_the_readme_is_a_target_of_the_makefile(clone):
    commands = readme_commands("make ")
    assert {"make run", "make test", "make sandbox", "make run CONFIG=path"} <= commands
    for command in commands:
        dry = subprocess.run(
            [*command.split(), "-n"], cwd=clone, capture_output=True, text=True, timeout=30
        )
        assert dry.returncode == 0, f"{command}: {dry.stderr}"


def test_make_run_without_a_config_json_starts_the_sandbox(clone):
    sandbox = SandboxProcess(clone, command=["make", "run"])
    sandbox.start()
    try:
        assert httpx.get(f"{sandbox.page_url}/", timeout=5).status_code == 200
    finally:
        sandbox.stop()


def filled_in_config(clone, port: int) -> None:
    config = json.loads(json.dumps(PRODUCT_EXAMPLE))
    config["services"]["weworktop"].update(host="127.0.0.1", port=port)
    path = clone / "config.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)


@pytest.mark.parametrize(
    "command",
    ["make run", "make run CONFIG=config.json", ".venv/bin/python app.py --config config.json"],
)
def test_with_a_config_json_the_readme_s_commands_start_the_service(clone, command):
    port = free_port()
    filled_in_config(clone, port)
    process = subprocess.Popen(
        command.split(), cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: _healthy(port, process), timeout=30, what=f"`{command}` to start")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
        (clone / "config.json").unlink()
    assert "weworktop ready" in output
    assert (clone / "data" / "weworktop.db").exists()


def test_make_sandbox_starts_the_sandbox_even_beside_a_config_json(clone):
    filled_in_config(clone, free_port())
    sandbox = SandboxProcess(clone, command=["make", "sandbox"])
    try:
        sandbox.start()
        assert httpx.get(f"{sandbox.page_url}/", timeout=5).status_code == 200
    finally:
        sandbox.stop()
        (clone / "config.json").unlink()


def _healthy(port: int, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"it exited: {process.stdout.read().decode()}")
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.1)
        return False
