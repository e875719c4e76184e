"""The real service (`python app.py --config …`) with less free disk than it asks for where it
writes (storage.min_free_mib set above the disk's size): /readyz says "degraded" and why, with
no message sent (the folder only in the log: /readyz may be public), and the log says ACTION
NEEDED once however often /readyz is asked. A message
still gets its answer: low space is a warning, not a refusal."""

from __future__ import annotations

import time

import httpx

from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator

# More than any disk: the check must fire wherever the test runs.
LARGER_THAN_ANY_DISK_MIB = 1 << 40


def test_low_disk_space_is_reported_before_anything_fails(tmp_path, figures):
    wecom, keys = WeComEmulator(), CallbackKeys()
    with serve(wecom.app) as wecom_url:
        config = service_config(wecom, wecom_url, keys, f"sqlite:///{tmp_path}/data/events.db")
        config["storage"]["min_free_mib"] = LARGER_THAN_ANY_DISK_MIB
        service = ServiceProcess(config, tmp_path)
        service.start()
        try:
            answers = []
            for _ in range(3):
                answers.append(httpx.get(f"{service.base_url}/readyz", timeout=5))
                time.sleep(3)  # past the 5 s cache once: the check runs twice
            sender = WeComSender(wecom, keys)
            acked = sender.post(service.base_url, *sender.callback("alice", "在吗", 1))
            wait_until(lambda: wecom.contents_for("alice"), what="the answer")
        finally:
            service.stop()
    assert acked.status_code == 200
    body = answers[-1].json()
    assert {a.status_code for a in answers} == {200} and body["status"] == "degraded"
    assert body["disk"].startswith("ACTION NEEDED: ") and "storage.min_free_mib" in body["disk"]
    assert "MiB free where the service writes" in body["disk"] and str(tmp_path) not in body["disk"]
    log = service.log()
    assert log.count("ACTION NEEDED") == 1 and f"({tmp_path}/data)" in log
    assert keys.aes_key not in log
    figures(f"readyz: {body['status']}, {body['disk']}")
