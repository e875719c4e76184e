"""SubprocessTextExtractor: a file's text, read in a process of its own (document_text) that
is stopped when it takes longer than `timeout_seconds` and that cannot take more memory than
`memory_mb`: a zip bomb, a 10,000-page PDF or a sheet of a million rows costs the service a
bounded while and nothing of its own memory. At most `parallel` files are read at once."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path, PurePosixPath

from application.ports.media import ExtractedText, MediaError
from domain import notices

log = logging.getLogger(__name__)

_PROGRAM = "adapters.outbound.media.document_text"
# Where the program's package is found, whether the service is installed or run from source.
_ROOT = str(Path(__file__).resolve().parents[3])


def reader_environment() -> dict[str, str]:
    """Not the service's environment: it holds secrets the reader has no use for."""
    return {"PYTHONPATH": _ROOT, "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}


class SubprocessTextExtractor:
    def __init__(self, timeout_seconds: float = 30.0, memory_mb: int = 768, parallel: int = 2):
        self._timeout = timeout_seconds
        self._memory_mb = memory_mb
        self._slots = asyncio.Semaphore(parallel)

    async def extract(self, data: bytes, name: str) -> ExtractedText:
        async with self._slots:
            output = await self._run(data, name)
        try:
            answer = json.loads(output)
        except ValueError:
            # The process died (killed by the system, a crash in a C library): no JSON.
            raise MediaError(notices.UNREADABLE, "the reader stopped without an answer") from None
        log.info(
            "read a %s file of %d bytes (peak %s MB): %s",
            PurePosixPath(name).suffix or "nameless", len(data), answer.get("peak_mb"),
            answer.get("problem", "ok"),
        )
        if "problem" in answer:
            raise MediaError(answer["problem"], answer["reason"])
        return ExtractedText(answer["text"], answer["left_out"])

    async def _run(self, data: bytes, name: str) -> bytes:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", _PROGRAM, name, str(self._memory_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=reader_environment(),
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(data), self._timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise MediaError(
                notices.TOO_SLOW, f"reading took longer than {self._timeout:g}s"
            ) from None
        finally:
            if process.returncode is None:  # cancelled (shutdown): leave nothing behind
                process.kill()
                await process.wait()
        return output
