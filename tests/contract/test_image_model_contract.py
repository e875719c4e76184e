"""What every ImageModel promises, run against the fake, the offline model and the httpx adapter
talking to an OpenAI-compatible stand-in in both answer styles (b64_json and url); then what
only the httpx adapter promises: the request, retries, plain failures, and the key kept safe."""

from __future__ import annotations

import io
import json
import logging
import time
import traceback
import tracemalloc

import httpx
import pytest
from PIL import Image

from adapters.outbound.offline.offline_image_model import OfflineImageModel
from adapters.outbound.openai import httpx_openai_image_model
from adapters.outbound.openai.httpx_openai_image_model import HttpxOpenAIImageModel
from application.ports.models import ImageModelError
from tests.fakes.image_model import FakeImageModel
from tests.standins.openai_media_standin import FILES, IMAGES, OpenAIMediaStandIn
from tests.support.images import png_claiming
from tests.support.live_server import free_port, serve

PROMPT = "一只在月球上喝茶的猫, watercolour"
SECRET = "sk-test-image-5e4d3c2b1a09f8e7"


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


class ImageModelContract:
    """Subclasses provide `model` and `broken_model` (None when the model cannot fail)."""

    async def test_draws_a_png_or_jpeg_for_a_prompt(self, model):
        image = picture(await model.generate(PROMPT))

        assert image.format in ("PNG", "JPEG")
        assert min(image.size) >= 16

    async def test_a_model_that_cannot_draw_raises_image_model_error(self, broken_model):
        if broken_model is None:
            pytest.skip("this model has nothing that can fail")

        with pytest.raises(ImageModelError) as raised:
            await broken_model.generate(PROMPT)

        assert str(raised.value)


class TestFakeImageModel(ImageModelContract):
    @pytest.fixture
    def model(self):
        return FakeImageModel()

    @pytest.fixture
    def broken_model(self):
        fake = FakeImageModel()
        fake.fail_next()
        return fake


class TestOfflineImageModel(ImageModelContract):
    @pytest.fixture
    def model(self):
        return OfflineImageModel()

    @pytest.fixture
    def broken_model(self):
        return None

    async def test_one_prompt_always_gives_the_same_picture_and_another_a_different_one(
        self, model
    ):
        first, again = await model.generate(PROMPT), await model.generate(PROMPT)
        other = await model.generate(PROMPT + "!")

        assert first == again
        assert picture(first).tobytes() != picture(other).tobytes()


@pytest.fixture
def standin():
    return OpenAIMediaStandIn()


def make_model(client, base_url, **overrides) -> HttpxOpenAIImageModel:
    settings = {
        "api_key": None,
        "model": "gpt-image-1",
        "retry_attempts": 3,
        "retry_initial_wait": 0.01,
        "retry_max_wait": 0.02,
    }
    return HttpxOpenAIImageModel(client, base_url, **(settings | overrides))


class TestHttpxOpenAIImageModelAnsweringB64(ImageModelContract):
    @pytest.fixture
    def model(self, client, served):
        return make_model(client, served)

    @pytest.fixture
    def broken_model(self, client, served, standin):
        standin.fail_next(IMAGES, 503, times=10)
        return make_model(client, served, retry_attempts=2)


class TestHttpxOpenAIImageModelAnsweringUrl(TestHttpxOpenAIImageModelAnsweringB64):
    @pytest.fixture
    def standin(self):
        return OpenAIMediaStandIn(answer="url")

    @pytest.fixture
    def broken_model(self, client, served, standin):
        standin.fail_next(FILES, 404, times=10)
        return make_model(client, served)


async def test_sends_model_prompt_size_and_key_and_returns_the_image(client, served, standin):
    standin.api_key = SECRET

    image = await make_model(client, served, api_key=SECRET, size="512x512").generate(PROMPT)

    assert image == standin.image
    assert standin.image_requests == [
        {"model": "gpt-image-1", "prompt": PROMPT, "n": 1, "size": "512x512"}
    ]
    assert standin.authorizations(IMAGES) == [f"Bearer {SECRET}"]


async def test_without_a_size_the_server_chooses(client, served, standin):
    await make_model(client, served, size=None).generate(PROMPT)

    assert "size" not in standin.image_requests[0]


async def test_an_image_url_is_fetched_without_the_key(client, served, standin):
    standin.api_key, standin.answer = SECRET, "url"

    image = await make_model(client, served, api_key=SECRET).generate(PROMPT)

    assert image == standin.image
    assert standin.downloads == [None]


@pytest.mark.parametrize("endpoint", [IMAGES, FILES])
@pytest.mark.parametrize("status", [429, 502])
async def test_a_passing_failure_is_retried(client, served, standin, endpoint, status, caplog):
    standin.answer = "url"
    standin.fail_next(endpoint, status)

    image = await make_model(client, served).generate(PROMPT)

    assert image == standin.image
    assert len(standin.authorizations(endpoint)) == 2
    assert [r.levelno for r in caplog.records if r.name.startswith("adapters")] == [logging.WARNING]


async def test_a_refused_prompt_says_why_without_the_key_and_is_not_retried(
    client, served, standin
):
    reason = "Your request was rejected as a result of our safety system"
    standin.fail_next(IMAGES, 400, times=10, message=f"{reason} (key {SECRET})")

    with pytest.raises(ImageModelError) as raised:
        await make_model(client, served, api_key=SECRET).generate(PROMPT)

    assert "image server answered 400" in str(raised.value)
    assert reason in str(raised.value)
    assert SECRET not in str(raised.value)
    assert len(standin.image_requests) == 1


async def test_a_wrong_key_is_never_repeated_in_errors_or_logs(client, served, standin, caplog):
    caplog.set_level(logging.DEBUG)
    standin.api_key = "the-right-key"

    with pytest.raises(ImageModelError) as raised:
        await make_model(client, served, api_key=SECRET).generate(PROMPT)

    assert "401" in str(raised.value) and "API key" in str(raised.value)
    assert len(standin.image_requests) == 1
    assert SECRET not in "".join(traceback.format_exception(raised.value))
    assert SECRET not in caplog.text


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 200, 10)).save(out, "WEBP")
    return out.getvalue()


async def test_a_webp_answer_comes_back_as_png(client, served, standin):
    standin.image = webp()

    image = picture(await make_model(client, served).generate(PROMPT))

    assert (image.format, image.size) == ("PNG", (40, 20))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"<html>Bad Gateway</html>", "invalid JSON"),
        (b'{"data": []}', "without an image"),
        (b'{"data": [{"revised_prompt": "a cat"}]}', "neither b64_json nor url"),
        (b'{"data": [{"b64_json": "not base64!"}]}', "not base64"),
        (b'{"data": [{"b64_json": "PGh0bWw+ZXJyb3I8L2h0bWw+"}]}', "not an image"),
        (b'{"data": [{"url": "file:///etc/passwd"}]}', "not http"),
    ],
)
async def test_an_unusable_answer_fails_in_plain_words_without_retrying(
    client, served, standin, raw, reason
):
    standin.send_raw_next(IMAGES, raw, times=10)

    with pytest.raises(ImageModelError, match=reason):
        await make_model(client, served).generate(PROMPT)

    assert len(standin.image_requests) == 1


async def test_an_image_larger_than_the_limit_is_not_read_whole(
    client, served, standin, monkeypatch
):
    monkeypatch.setattr(httpx_openai_image_model, "IMAGE_MAX_BYTES", 100)
    standin.answer = "url"

    with pytest.raises(ImageModelError, match="more than 100 bytes"):
        await make_model(client, served).generate(PROMPT)


async def test_a_slow_server_times_out_within_bounded_time(served, standin):
    standin.delay = 1.0
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        started = time.monotonic()

        with pytest.raises(ImageModelError, match=r"timed out after 0\.2s") as raised:
            await make_model(impatient, served, retry_attempts=2).generate(PROMPT)

    assert time.monotonic() - started < standin.delay
    assert "attempts: 2" in str(raised.value)


async def test_an_unreachable_server_is_retried_then_reported(client):
    base_url = f"http://127.0.0.1:{free_port()}/v1"

    with pytest.raises(ImageModelError, match="unreachable") as raised:
        await make_model(client, base_url, retry_attempts=2).generate(PROMPT)

    assert f"{base_url}/images/generations" in str(raised.value)


@pytest.mark.parametrize("answer", ["b64_json", "url"])
async def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded(
    client, served, standin, answer
):
    standin.image, standin.answer = png_claiming(13000, 13000), answer
    tracemalloc.start()
    try:
        with pytest.raises(ImageModelError, match="over 16,777,216 pixels"):
            await make_model(client, served).generate(PROMPT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


@pytest.mark.parametrize("url", ["http://host:abc/x.png", "http://[::1", "https:///x.png"])
async def test_a_malformed_image_url_is_the_ports_error(client, served, standin, url):
    standin.send_raw_next(IMAGES, json.dumps({"data": [{"url": url}]}).encode(), times=10)

    with pytest.raises(ImageModelError, match="not http"):
        await make_model(client, served).generate(PROMPT)


async def test_an_image_url_into_this_services_own_network_is_never_fetched(
    client, served, standin
):
    inside = OpenAIMediaStandIn(answer="url")
    with serve(inside.app) as inside_url:
        port = inside_url.rsplit(":", 1)[1]
        for url, reason in [
            (f"{inside_url}/files/1", "with an IP address"),
            (f"http://localhost:{port}/files/1", "inside this service's own network"),
            ("http://169.254.169.254/latest/meta-data/", "with an IP address"),
            ("http://no-such-host.invalid/x.png", "does not resolve"),
        ]:
            standin.send_raw_next(IMAGES, json.dumps({"data": [{"url": url}]}).encode())
            with pytest.raises(ImageModelError, match=reason):
                await make_model(client, served).generate(PROMPT)
    assert inside.downloads == []
