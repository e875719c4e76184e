"""Hand-written SpeechToText and AudioConverter fakes for unit tests: scripted transcripts and
failures, every call recorded, no ffmpeg and no server."""

from __future__ import annotations

import io
import wave
from collections import deque
from collections.abc import Iterable

from application.ports.models import SpeechError

# Bytes per AMR-NB frame (20 ms of sound) by frame type, header byte included (3GPP TS 26.101).
_AMR_FRAME_BYTES = {0: 13, 1: 14, 2: 16, 3: 18, 4: 20, 5: 21, 6: 27, 7: 32, 8: 6, 15: 1}
_AMR_MAGIC = b"#!AMR\n"
WAV_RATE = 8000


class FakeSpeechToText:
    def __init__(self, transcripts: Iterable[str] = (), default: str = "你好，这是一条语音"):
        """Answers the scripted `transcripts` in turn, then `default`."""
        self.calls: list[tuple[bytes, str]] = []
        self.default = default
        self._transcripts = deque(transcripts)
        self._failures: deque[str] = deque()

    def reply_next(self, *transcripts: str) -> None:
        self._transcripts.extend(transcripts)

    def fail_next(self, reason: str = "speech-to-text server is down", times: int = 1) -> None:
        self._failures.extend([reason] * times)

    async def transcribe(self, audio: bytes, filename: str) -> str:
        self.calls.append((audio, filename))
        if self._failures:
            raise SpeechError(self._failures.popleft())
        return self._transcripts.popleft() if self._transcripts else self.default


class FakeAudioConverter:
    """Turns AMR into a WAV of silence as long as the recording; refuses what is not AMR."""

    def __init__(self) -> None:
        self.converted: list[bytes] = []
        self._failures: deque[str] = deque()

    def fail_next(self, reason: str = "ffmpeg is missing", times: int = 1) -> None:
        self._failures.extend([reason] * times)

    async def amr_to_wav(self, amr: bytes) -> bytes:
        if self._failures:
            raise SpeechError(self._failures.popleft())
        frames = _amr_frames(amr)
        self.converted.append(amr)
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(WAV_RATE)
            wav.writeframes(bytes(frames * WAV_RATE // 50 * 2))
        return out.getvalue()


def _amr_frames(amr: bytes) -> int:
    if not amr.startswith(_AMR_MAGIC):
        raise SpeechError("not an AMR recording (fake)")
    position, frames = len(_AMR_MAGIC), 0
    while position < len(amr):
        size = _AMR_FRAME_BYTES.get((amr[position] >> 3) & 0x0F)
        if size is None:
            raise SpeechError("a damaged AMR recording (fake)")
        position, frames = position + size, frames + 1
    if frames == 0:
        raise SpeechError("an empty AMR recording (fake)")
    return frames
