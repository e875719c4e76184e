"""The AudioConverter port by running ffmpeg: WeCom voice messages are AMR-NB, which few
speech-to-text servers take, so they are decoded to 16 kHz mono 16-bit PCM and wrapped as WAV.

ffmpeg comes from the imageio-ffmpeg wheel (a static build with an AMR decoder, installed with
weworktop), else from PATH. It runs as a child process with pipes, never a shell, under a
timeout, and with a cap on what it may write back.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import subprocess
import wave

from application.ports.models import SpeechError

SAMPLE_RATE = 16000
# A WeCom voice message lasts at most 60 s, i.e. under 2 MB as 16 kHz 16-bit mono.
WAV_MAX_BYTES = 8 * 1024 * 1024
_STDERR_TAIL = 2000
_CHUNK = 64 * 1024


def locate_ffmpeg() -> str | None:
    """imageio-ffmpeg's binary, else an ffmpeg on PATH, else None."""
    try:
        # Imported here: a packager may leave the wheel out in favour of the system's ffmpeg.
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


class FfmpegAudioConverter:
    def __init__(
        self,
        executable: str | None = None,
        *,
        timeout_seconds: float = 20.0,
        max_wav_bytes: int = WAV_MAX_BYTES,
    ):
        """`executable` None looks for ffmpeg (see locate_ffmpeg)."""
        self._executable = executable or locate_ffmpeg()
        self._timeout = timeout_seconds
        self._max_pcm_bytes = max_wav_bytes

    def startup_warning(self) -> str | None:
        """None when ffmpeg is there and decodes AMR; else what is wrong and what to do, in
        one line for the start-up log. Runs ffmpeg once, for a fraction of a second."""
        if self._executable is None:
            return (
                "voice messages cannot be transcribed: no ffmpeg found; install weworktop's "
                "dependencies (imageio-ffmpeg) or the system's ffmpeg package"
            )
        try:
            listing = subprocess.run(
                [self._executable, "-hide_banner", "-decoders"],
                capture_output=True,
                timeout=10,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError) as err:
            return (
                f"voice messages cannot be transcribed: ffmpeg at {self._executable} does not "
                f"run ({type(err).__name__})"
            )
        if b" amrnb " not in listing and b"libopencore_amrnb" not in listing:
            return (
                f"voice messages cannot be transcribed: ffmpeg at {self._executable} has no "
                "AMR-NB decoder; install imageio-ffmpeg, or an ffmpeg built with amrnb"
            )
        return None

    async def amr_to_wav(self, amr: bytes) -> bytes:
        if self._executable is None:
            raise SpeechError("no ffmpeg to convert the voice message with")
        try:
            process = await asyncio.create_subprocess_exec(
                self._executable,
                *_ARGUMENTS,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as err:
            raise SpeechError(f"cannot run ffmpeg ({type(err).__name__})") from None
        try:
            pcm = await asyncio.wait_for(self._converted(process, amr), self._timeout)
        except TimeoutError:
            raise SpeechError(
                f"ffmpeg did not convert the voice message within {self._timeout:g}s"
            ) from None
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        return _wav(pcm)

    async def _converted(self, process: asyncio.subprocess.Process, amr: bytes) -> bytes:
        assert process.stdin and process.stdout and process.stderr
        pcm, errors, _ = await asyncio.gather(
            _read_capped(process, process.stdout, self._max_pcm_bytes),
            _read_tail(process.stderr),
            _feed(process.stdin, amr),
        )
        await process.wait()
        if pcm is None:
            raise SpeechError(
                f"the voice message is longer than weworktop converts ({self._max_pcm_bytes:,} "
                "bytes of audio)"
            )
        if process.returncode != 0 or not pcm:
            said = errors.decode("utf-8", "replace").strip().splitlines()
            raise SpeechError(
                "ffmpeg could not read the voice message as AMR"
                + (f": {said[-1][:200]}" if said else "")
            )
        return pcm


# `-f amr` makes ffmpeg read the input as AMR and nothing else: a file that claims another
# format (a playlist, say) could otherwise make ffmpeg open other files or URLs.
_ARGUMENTS = (
    "-hide_banner",
    "-loglevel", "error",
    "-f", "amr",
    "-i", "pipe:0",
    "-ac", "1",
    "-ar", str(SAMPLE_RATE),
    "-f", "s16le",
    "pipe:1",
)  # fmt: skip


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    # ffmpeg stops reading when it gives up on the input; its verdict comes from stderr.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
        stdin.close()


async def _read_capped(
    process: asyncio.subprocess.Process, stream: asyncio.StreamReader, limit: int
) -> bytes | None:
    """Everything `stream` gives, or None as soon as it passes `limit` bytes; then the process
    is stopped, since it would wait for ever to write what nobody reads."""
    out = bytearray()
    while chunk := await stream.read(_CHUNK):
        out += chunk
        if len(out) > limit:
            process.kill()
            return None
    return bytes(out)


async def _read_tail(stream: asyncio.StreamReader) -> bytes:
    tail = b""
    while chunk := await stream.read(_CHUNK):
        tail = (tail + chunk)[-_STDERR_TAIL:]
    return tail


def _wav(pcm: bytes) -> bytes:
    # The WAV header is written here rather than by ffmpeg: on a pipe ffmpeg cannot go back
    # to fill in the lengths, and some servers trust them.
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    return out.getvalue()
