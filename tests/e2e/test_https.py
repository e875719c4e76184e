"""HTTPS served by the service itself (`ssl_certfile` and `ssl_keyfile`): a self-signed
certificate made for the test, WeCom's URL check and a signed callback over TLS, and the reply
through the WeCom emulator."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator
from wecom_emulator.callbacks import signed_echo

USER = "zhangsan"


def self_signed(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return "cert.pem", "key.pem"


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
