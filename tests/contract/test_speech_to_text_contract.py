"""What every SpeechToText promises, run against the fake and the httpx adapter talking to an
OpenAI-compatible stand-in; then what only the httpx adapter promises: the upload it sends,
when it retries, how it fails, and that the API key never leaks."""

from __future__ import annotations

import io
import logging
import traceback
import wave

import pytest

from adapters.outbound.openai.httpx_openai_speech_to_text import HttpxOpenAISpeechToText
from application.ports.models import SpeechError
from tests.fakes.speech import FakeSpeechToText
from tests.standins.openai_media_standin import TRANSCRIPTIONS, OpenAIMediaStandIn

SECRET = "sk-test-speech-0f1e2d3c4b5a6978"


def silence_wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(bytes(int(16000 * seconds) * 2))
    return out.getvalue()


WAV = silence_wav()


class SpeechToTextContract:
    """Subclasses provide `speech` and `broken_speech`."""

    async def test_a_recording_comes_back_as_text(self, speech):
        text = await speech.transcribe(WAV, "voice.wav")

        assert isinstance(text, str) and text.strip()

    async def test_a_server_that_cannot_transcribe_raises_speech_error(self, broken_speech):
        with pytest.raises(SpeechError) as raised:
            await broken_speech.transcribe(WAV, "voice.wav")

        assert str(raised.value)


class TestFakeSpeechToText(SpeechToTextContract):
    @pytest.fixture
    def speech(self):
        return FakeSpeechToText()

    @pytest.fixture
    def broken_speech(self):
        fake = FakeSpeechToText()
        fake.fail_next()
        return fake


@pytest.fixture
def standin():
    return OpenAIMediaStandIn(transcript="你好，weworktop")


def make_speech(client, base_url, **overrides) -> HttpxOpenAISpeechToText:
    settings = {
        "api_key": None,
        "model": "whisper-1",
        "retry_attempts": 3,
        "retry_initial_wait": 0.01,
        "retry_max_wait": 0.02,
    }
    return HttpxOpenAISpeechToText(client, base_url, **(settings | overrides))


class TestHttpxOpenAISpeechToText(SpeechToTextContract):
    @pytest.fixture
    def speech(self, client, served):
        return make_speech(client, served)

    @pytest.fixture
    def broken_speech(self, client, served, standin):
        standin.fail_next(TRANSCRIPTIONS, 503, times=10)
        return make_speech(client, served, retry_attempts=2)


async def test_uploads_the_recording_with_its_name_and_the_model(client, served, standin):
    standin.api_key = SECRET

    text = await make_speech(client, served, api_key=SECRET, model="sensevoice").transcribe(
        WAV, "voice.wav"
    )

    assert text == "你好，weworktop"
    [upload] = standin.transcriptions
    assert (upload.model, upload.filename, upload.data) == ("sensevoice", "voice.wav", WAV)
    assert upload.content_type in ("audio/wav", "audio/x-wav")
    assert standin.authorizations(TRANSCRIPTIONS) == [f"Bearer {SECRET}"]


async def test_the_transcript_comes_without_surrounding_blanks(client, served, standin):
    standin.transcript = "  你好 \n"

    assert await make_speech(client, served).transcribe(WAV, "voice.wav") == "你好"


@pytest.mark.parametrize("transcript", ["", " \n "])
async def test_hearing_no_words_is_an_empty_transcript(client, served, standin, transcript):
    standin.transcript = transcript

    assert await make_speech(client, served).transcribe(WAV, "voice.wav") == ""


async def test_a_passing_failure_is_retried_and_the_recording_sent_again(client, served, standin):
    standin.fail_next(TRANSCRIPTIONS, 502)

    assert await make_speech(client, served).transcribe(WAV, "voice.wav") == "你好，weworktop"
    assert [upload.data for upload in standin.transcriptions] == [WAV, WAV]


async def test_a_wrong_key_is_never_repeated_in_errors_or_logs(client, served, standin, caplog):
    caplog.set_level(logging.DEBUG)
    standin.api_key = "the-right-key"

    with pytest.raises(SpeechError) as raised:
        await make_speech(client, served, api_key=SECRET).transcribe(WAV, "voice.wav")

    assert "speech-to-text server answered 401" in str(raised.value)
    assert "API key" in str(raised.value)
    assert len(standin.transcriptions) == 1
    assert SECRET not in "".join(traceback.format_exception(raised.value))
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"<html>oops</html>", "invalid JSON"), (b'{"task": "transcribe"}', "without a transcript")],
)
async def test_an_unusable_answer_fails_without_retrying(client, served, standin, raw, reason):
    standin.send_raw_next(TRANSCRIPTIONS, raw, times=10)

    with pytest.raises(SpeechError, match=reason):
        await make_speech(client, served).transcribe(WAV, "voice.wav")

    assert len(standin.transcriptions) == 1
