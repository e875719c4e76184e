"""What every AudioConverter promises, run against the fake and against FfmpegAudioConverter
running the real ffmpeg on a real WeCom-style voice recording (tests/data/voice_hello.amr);
then what only the ffmpeg adapter has to get right: finding ffmpeg, saying at start-up when
it cannot, and never waiting for ever or reading without bound."""

from __future__ import annotations

import io
import time
import wave
from pathlib import Path

import pytest

from adapters.outbound.media import ffmpeg_audio_converter
from adapters.outbound.media.ffmpeg_audio_converter import FfmpegAudioConverter
from application.ports.models import SpeechError
from tests.fakes.speech import FakeAudioConverter

VOICE = (Path(__file__).parents[1] / "data" / "voice_hello.amr").read_bytes()
VOICE_SECONDS = 1.3  # "hello weworktop", as ffprobe measures the file


class AudioConverterContract:
    async def test_a_voice_message_becomes_a_mono_wav_as_long_as_the_recording(self, converter):
        wav = await converter.amr_to_wav(VOICE)

        with wave.open(io.BytesIO(wav)) as sound:
            assert sound.getnchannels() == 1
            assert sound.getsampwidth() == 2
            assert sound.getframerate() >= 8000
            seconds = sound.getnframes() / sound.getframerate()
        assert seconds == pytest.approx(VOICE_SECONDS, abs=0.1)

    @pytest.mark.parametrize(
        "data",
        [b"", b"#!AMR\n", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"<html>not found</html>" * 20],
        ids=["empty", "header only", "wav", "html"],
    )
    async def test_what_is_not_an_amr_recording_raises_speech_error(self, converter, data):
        with pytest.raises(SpeechError) as raised:
            await converter.amr_to_wav(data)

        assert str(raised.value)


class TestFakeAudioConverter(AudioConverterContract):
    @pytest.fixture
    def converter(self):
        return FakeAudioConverter()


class TestFfmpegAudioConverter(AudioConverterContract):
    @pytest.fixture
    def converter(self):
        return FfmpegAudioConverter()


def script(tmp_path: Path, body: str) -> str:
    """A stand-in for the ffmpeg executable."""
    path = tmp_path / "ffmpeg"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_the_ffmpeg_found_decodes_amr_so_start_up_has_nothing_to_say():
    assert FfmpegAudioConverter().startup_warning() is None


async def test_without_any_ffmpeg_start_up_says_what_to_install_and_voice_fails_plainly(
    monkeypatch,
):
    monkeypatch.setattr(ffmpeg_audio_converter, "locate_ffmpeg", lambda: None)
    converter = FfmpegAudioConverter()

    assert "no ffmpeg found" in (converter.startup_warning() or "")
    assert "imageio-ffmpeg" in (converter.startup_warning() or "")
    with pytest.raises(SpeechError, match="no ffmpeg"):
        await converter.amr_to_wav(VOICE)


async def test_an_ffmpeg_that_does_not_run_is_reported(tmp_path):
    converter = FfmpegAudioConverter(str(tmp_path / "missing" / "ffmpeg"))

    assert "does not run" in (converter.startup_warning() or "")
    with pytest.raises(SpeechError, match="cannot run ffmpeg"):
        await converter.amr_to_wav(VOICE)


def test_an_ffmpeg_without_an_amr_decoder_is_reported(tmp_path):
    without_amr = script(tmp_path, "echo ' A....D aac   AAC (Advanced Audio Coding)'")

    warning = FfmpegAudioConverter(without_amr).startup_warning()

    assert warning is not None and "no AMR-NB decoder" in warning


async def test_an_ffmpeg_that_hangs_is_stopped_at_the_timeout(tmp_path):
    hanging = FfmpegAudioConverter(script(tmp_path, "exec sleep 30"), timeout_seconds=0.3)
    started = time.monotonic()

    with pytest.raises(SpeechError, match=r"within 0\.3s"):
        await hanging.amr_to_wav(VOICE)

    assert time.monotonic() - started < 3


async def test_more_audio_than_the_cap_is_refused_not_read_whole():
    with pytest.raises(SpeechError, match="longer than weworktop converts"):
        await FfmpegAudioConverter(max_wav_bytes=10_000).amr_to_wav(VOICE)
