"""HTTPS served by the service itself (`ssl_certfile` and `ssl_keyfile`): a self-signed
certificate made for the test, WeCom's URL check and a signed callback over TLS, and the reply
through the WeCom emulator."""

from __future__ import annotations

import ssl

import httpx
import pytest

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from tests.support.certificates import self_signed
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator
from wecom_emulator.callbacks import signed_echo

USER = "zhangsan"


def test_a_callback_round_trip_over_https_with_the_certificate_beside_the_config(tmp_path):
    wecom = WeComEmulator(known_users={USER})
    certfile, keyfile = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(tmp_path / certfile))
    with serve(wecom.app) as wecom_url:
        keys = CallbackKeys()
        config = service_config(
            wecom, wecom_url, keys, f"sqlite:///{tmp_path}/events.db",
            ssl_certfile=certfile, ssl_keyfile=keyfile,
        )
        service = ServiceProcess(config, tmp_path, verify=trust)
        service.start()
        try:
            assert service.base_url.startswith("https://")
            crypto = WeComCrypto(keys.token, keys.aes_key, wecom.corp_id)
            check = httpx.get(
                f"{service.base_url}/wework_callback",
                params=signed_echo(crypto, "echo-tls"),
                verify=trust,
                timeout=5,
            )
            assert (check.status_code, check.text) == (200, "echo-tls")

            sender = WeComSender(wecom, keys)
            params, body = sender.callback(USER, "你好", msg_id=1)
            answer = httpx.post(
                f"{service.base_url}/wework_callback",
                params=params,
                content=body,
                verify=trust,
                timeout=5,
            )
            assert answer.status_code == 200
            wait_until(lambda: wecom.contents_for(USER), timeout=10, what="the reply")
            assert wecom.contents_for(USER)[0].startswith("（离线模型）你说：你好")
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.get(service.base_url.replace("https", "http") + "/healthz", timeout=5)
        finally:
            service.stop()
