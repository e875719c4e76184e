"""Starting `python app.py` the ways an operator does, including the wrong ways."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx

from tests.support.live_server import free_port
from tests.support.service_process import ROOT, ServiceProcess
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE, SECRET


def run_app(*args: str, cwd, env=None, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env,
    )


def write(path, config) -> str:
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_a_missing_required_key_stops_start_up_with_one_line(tmp_path):
    config = json.loads(json.dumps(PRODUCT_EXAMPLE))
    del config["services"]["weworktop"]["corp_id"]
    result = run_app("--config", write(tmp_path / "c.json", config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"weworktop: config error: {tmp_path / 'c.json'}: "
        "services.weworktop.corp_id: required key is missing"
    ]


def test_a_missing_config_file_is_named(tmp_path):
    result = run_app("--config", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.json: no such configuration file" in result.stderr


def test_the_shipped_example_starts_as_is(tmp_path):
    port = free_port()
    example = json.loads((ROOT / "config.example.json").read_text(encoding="utf-8"))
    example["services"]["weworktop"].update(port=port, host="127.0.0.1")
    example["storage"]["url"] = f"sqlite:///{tmp_path}/e.db"
    service = ServiceProcess(example, tmp_path)
    # The example as shipped, but on a free port and its own database.
    service.start()
    try:
        assert httpx.get(f"{service.base_url}/healthz").json() == {"status": "ok"}
    finally:
        service.stop()
    assert "model echo" in service.log()


def test_the_default_start_prints_the_one_line_about_the_sandbox(tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "WEWORKTOP_SANDBOX_PORTS": "0,0"},
    )
    try:
        first_line = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert "no config.json here; starting the sandbox" in first_line


def test_unknown_keys_are_warned_about_and_secrets_never_printed(tmp_path):
    config = json.loads(json.dumps(PRODUCT_EXAMPLE))
    config["services"]["weworktop"]["coprid"] = "typo"
    config["storage"] = {"url": f"sqlite:///{tmp_path}/w.db"}
    service = ServiceProcess(config, tmp_path)
    service.start()
    service.stop()
    assert "unknown key 'services.weworktop.coprid' is ignored" in service.log()
    assert SECRET not in service.log()


def test_the_event_store_is_private_to_its_owner_and_a_readable_one_is_warned_about(tmp_path):
    example = json.loads((ROOT / "config.example.json").read_text(encoding="utf-8"))
    example["services"]["weworktop"].update(port=free_port(), host="127.0.0.1")
    data = tmp_path / "data"
    example["storage"]["url"] = f"sqlite:///{data}/events.db"
    service = ServiceProcess(example, tmp_path)
    previous = os.umask(0o022)  # the usual umask, under which files are created 0644
    try:
        service.start()
        service.stop()
    finally:
        os.umask(previous)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in data.iterdir()}
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert modes.keys() >= {"events.db"} and set(modes.values()) == {0o600}, modes
    assert "can read the event store" not in service.log()

    (data / "events.db").chmod(0o644)
    service.start()
    service.stop()
    assert "users other than its owner can read the event store (events.db mode 644)" in (
        service.log()
    )
