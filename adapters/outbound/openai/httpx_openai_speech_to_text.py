"""The SpeechToText port over an OpenAI-compatible /audio/transcriptions endpoint (OpenAI's
Whisper and gpt-4o-transcribe, and the many servers that copy it: faster-whisper, vLLM,
Groq, SiliconFlow...)."""

from __future__ import annotations

import mimetypes

import httpx

from adapters.outbound.openai.openai_compatible_http import OpenAICompatibleHttp
from application.ports.models import SpeechError

# A transcript of a 60-second voice message is a few hundred bytes.
_ANSWER_MAX_BYTES = 1024 * 1024

_SERVER = "speech-to-text server"


class HttpxOpenAISpeechToText:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        model: str = "whisper-1",
        *,
        retry_attempts: int = 3,
        retry_initial_wait: float = 1.0,
        retry_max_wait: float = 10.0,
    ):
        self._model = model
        self._http = OpenAICompatibleHttp(
            client,
            base_url,
            api_key,
            error=SpeechError,
            server=_SERVER,
            retry_attempts=retry_attempts,
            retry_initial_wait=retry_initial_wait,
            retry_max_wait=retry_max_wait,
        )

    async def transcribe(self, audio: bytes, filename: str) -> str:
        """The words heard; SpeechError also when the server heard none (silence, noise)."""
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        answer = await self._http.post(
            "/audio/transcriptions",
            _ANSWER_MAX_BYTES,
            files={"file": (filename, audio, content_type)},
            data={"model": self._model},
        )
        text = answer.get("text")
        if not isinstance(text, str):
            raise SpeechError(f"{_SERVER} answered without a transcript")
        # Silence is a transcript too: the member is then asked to say it again.
        return text.strip()
