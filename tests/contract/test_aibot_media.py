"""HttpxAiBotMedia against the WeCom emulator on 127.0.0.1: a bot's pictures and files are
downloaded and decrypted with the bot's EncodingAESKey (callback mode) or the item's own
aeskey (long connection); a download that never ends, a key that does not decrypt, an expired
URL or one too large gets the port's MediaError in bounded time, without the URL's signature.
The decryption is checked against an independent implementation (cryptography)."""

from __future__ import annotations

import base64
import time
import tracemalloc

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from adapters.outbound.wecom.httpx_aibot_media import HttpxAiBotMedia, decrypt_media, file_name
from application.ports.media import MediaError
from domain import notices
from tests.support.e2e import random_key
from tests.support.live_server import serve
from wecom_emulator import WeComEmulator
from wecom_emulator.aibot_media import bot_key

BOT_AES_KEY = random_key(43)
CONTRACT = "第一条：甲方付款。".encode() * 100


def encrypted_independently(data: bytes, key: bytes) -> bytes:
    padder = padding.PKCS7(256).padder()  # 256 bits: WeCom pads to 32 bytes
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


@pytest.fixture(scope="module")
def wecom():
    emulator = WeComEmulator()
    with serve(emulator.app) as base_url:
        emulator.base_url = base_url
        yield emulator


@pytest.fixture
def media(client):
    return HttpxAiBotMedia(client, BOT_AES_KEY, total_seconds=1.0)


@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 100_000])
def test_decryption_agrees_with_an_independent_implementation(size):
    key = bytes(range(32))
    data = bytes(n % 251 for n in range(size))
    assert decrypt_media(encrypted_independently(data, key), key) == data


async def test_callback_mode_decrypts_with_the_bots_own_key(wecom, media):
    item = wecom.add_aibot_media(CONTRACT, bot_key(BOT_AES_KEY), "合同 v2.pdf")
    fetched = await media.download(wecom.base_url + item.url_path, "", limit=len(CONTRACT))
    assert (fetched.data, fetched.name) == (CONTRACT, "合同 v2.pdf")


async def test_the_long_connection_decrypts_with_the_items_own_aeskey(wecom, client):
    item = wecom.add_aibot_media(b"\x89PNG picture", filename="")
    keyless = HttpxAiBotMedia(client)  # a long-connection bot has no EncodingAESKey
    fetched = await keyless.download(wecom.base_url + item.url_path, item.aeskey, limit=1000)
    assert (fetched.data, fetched.name) == (b"\x89PNG picture", "")


async def test_an_aeskey_that_does_not_decrypt_is_unreadable(wecom, media, figures):
    item = wecom.add_aibot_media(CONTRACT, filename="a.txt")
    wrong = base64.b64encode(bytes(32)).decode()
    started = time.perf_counter()
    with pytest.raises(MediaError) as refused:
        await media.download(wecom.base_url + item.url_path, wrong, limit=len(CONTRACT))
    assert refused.value.problem == notices.UNREADABLE
    assert "does not decrypt" in refused.value.reason
    figures(f"a wrong aeskey told in {(time.perf_counter() - started) * 1000:.0f} ms")


@pytest.mark.parametrize("aeskey", ["not base64!", base64.b64encode(b"short").decode()])
async def test_an_aeskey_that_is_no_key_is_unreadable_before_any_download(media, aeskey):
    with pytest.raises(MediaError) as refused:
        await media.download("https://wecom.example/never-asked", aeskey, limit=10)
    assert refused.value.problem == notices.UNREADABLE


async def test_a_download_that_never_ends_is_cut_off_at_its_total_time(wecom, media, figures):
    item = wecom.add_aibot_media(b"", trickle=True)
    url = wecom.base_url + item.url_path
    started = time.perf_counter()
    with pytest.raises(MediaError) as refused:
        await media.download(url, "", limit=10_000_000)
    seconds = time.perf_counter() - started
    assert refused.value.problem == notices.UNAVAILABLE and 1.0 <= seconds < 2.0
    assert "authkey" not in str(refused.value) and item.url_path.split("?")[1] not in str(
        refused.value
    )
    figures(f"a download that never ends cut off after {seconds:.2f} s (limit 1 s)")


async def test_a_download_larger_than_the_limit_stops_at_the_limit(wecom, media, figures):
    large = b"x" * 5_000_000
    item = wecom.add_aibot_media(large, bot_key(BOT_AES_KEY))
    tracemalloc.start()
    with pytest.raises(MediaError) as refused:
        await media.download(wecom.base_url + item.url_path, "", limit=1_000_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.problem == notices.TOO_LARGE and refused.value.limit == 1_000_000
    assert peak < 3_000_000
    figures(f"a 5 MB download over a 1 MB limit refused holding at most {peak / 1e6:.1f} MB")


async def test_an_expired_url_or_one_that_is_not_http_is_unavailable(wecom, media):
    for url in (wecom.base_url + "/aibot/media/item999?authkey=x", "ftp://wecom.example/f"):
        with pytest.raises(MediaError) as refused:
            await media.download(url, "", limit=100)
        assert refused.value.problem == notices.UNAVAILABLE


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("attachment; filename*=UTF-8''%E5%90%88%E5%90%8C.pdf", "合同.pdf"),
        ('attachment; filename="report.xlsx"', "report.xlsx"),
        ('attachment; filename="%E6%8A%A5%E5%91%8A.docx"', "报告.docx"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("", ""),
    ],
)
def test_the_files_name_comes_from_content_disposition(header, name):
    assert file_name(header) == name
