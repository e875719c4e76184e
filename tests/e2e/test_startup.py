"""Starting `python app.py` the ways an operator does, including the wrong ways."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import httpx
import pytest

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


def test_every_mistake_stops_start_up_at_once_one_line_each(tmp_path):
    config = json.loads(json.dumps(PRODUCT_EXAMPLE))
    del config["services"]["weworktop"]["corp_id"]
    config["services"]["weworktop"].update(port="5001", speech_recognition="yes")
    result = run_app("--config", write(tmp_path / "c.json", config), cwd=tmp_path)
    assert result.returncode == 2
    assert sorted(result.stderr.strip().splitlines()) == [
        f"weworktop: config error: {tmp_path / 'c.json'}: {problem}"
        for problem in (
            "services.weworktop.corp_id: required key is missing",
            'services.weworktop.port: must be a whole number; found the string "5001"',
            'services.weworktop.speech_recognition: must be true or false; found the string '
            '"yes"',
        )
    ]


def test_a_missing_config_file_is_named(tmp_path):
    result = run_app("--config", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.json: no such configuration file" in result.stderr


def test_the_shipped_example_is_refused_on_its_placeholders_one_line_per_key():
    """Started as a person would from the checkout, with the relative path; anyone who has read
    the example could forge callbacks to a service running on its keys."""
    result = run_app("--config", "config.example.json", cwd=ROOT)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[3] for line in lines] == [
        f"services.weworktop.{key}" for key in ("corp_id", "corp_secret", "token", "aes_key")
    ]
    assert all(
        line.startswith("weworktop: config error: config.example.json: ")
        and "still the example's placeholder" in line
        for line in lines
    )
    assert "chmod" not in result.stderr


def test_with_its_keys_filled_in_the_example_starts_and_warns_of_nothing(tmp_path):
    example = json.loads((ROOT / "config.example.json").read_text(encoding="utf-8"))
    example["services"]["weworktop"].update(
        corp_id="ww1234567890", corp_secret=SECRET, token="RealToken1", aes_key="C" * 43,
    )
    service = ServiceProcess(example, tmp_path)
    service.config_path.chmod(0o600)
    service.start()
    try:
        assert httpx.get(f"{service.base_url}/healthz").json() == {"status": "ok"}
    finally:
        service.stop()
    assert "model echo" in service.log()
    assert " WARNING " not in service.log()


@pytest.mark.parametrize(
    "problem, expected",
    [
        ("port", "port {port} on 127.0.0.1 is taken by another program "
                 "(services.weworktop.port): stop that program, or set another port"),
        ("certificate", "services.weworktop.ssl_certfile and ssl_keyfile are not a usable PEM "
                        "certificate and key (No such file or directory)"),
    ],
)
def test_what_stops_start_up_is_named_with_its_setting_and_ready_is_never_said(
    tmp_path, problem, expected
):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = json.loads(json.dumps(PRODUCT_EXAMPLE))
        config["services"]["weworktop"].update(host="127.0.0.1", port=port)
        if problem == "certificate":
            taken.close()
            config["services"]["weworktop"].update(ssl_certfile="a.pem", ssl_keyfile="a.key")
        config["storage"] = {"url": "sqlite:///w.db"}
        result = run_app("--config", write(tmp_path / "c.json", config), cwd=tmp_path)
    assert result.returncode == 2
    line = f"weworktop cannot start: {tmp_path / 'c.json'}: {expected.format(port=port)}"
    assert line in result.stderr
    assert "ready" not in result.stderr and "Traceback" not in result.stderr


def test_a_relative_database_is_kept_beside_the_config_and_its_path_logged(tmp_path):
    config = json.loads(json.dumps(PRODUCT_EXAMPLE))
    config["storage"] = {"url": "sqlite:///data/events.db"}
    (tmp_path / "etc").mkdir()
    (tmp_path / "elsewhere").mkdir()
    service = ServiceProcess(config, tmp_path / "etc", cwd=tmp_path / "elsewhere")
    service.start()
    service.stop()
    database = tmp_path / "etc" / "data" / "events.db"
    assert database.exists()
    assert not (tmp_path / "elsewhere" / "data").exists()
    assert f"store sqlite:///{database}" in service.log()


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
    # The example's placeholders stop start-up: a configuration with real-looking keys.
    example = json.loads(json.dumps(PRODUCT_EXAMPLE))
    data = tmp_path / "data"
    example["storage"] = {"url": f"sqlite:///{data}/events.db"}
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
