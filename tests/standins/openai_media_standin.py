"""An OpenAI-compatible images and audio-transcriptions server for tests, served with
`tests.support.live_server.serve(standin.app)`; the adapters' base URL is `<served>/v1`.

Usage:
    standin = OpenAIMediaStandIn(answer="url", transcript="你好")
    with serve(standin.app) as base_url:
        image = await HttpxOpenAIImageModel(client, f"{base_url}/v1", key, "m").generate("猫")
    assert standin.image_requests[0]["prompt"] == "猫" and image == standin.image
    assert standin.downloads == [None]          # the image URL was fetched without the key
    assert standin.transcriptions[0].data[:4] == b"RIFF"

`/v1/images/generations` answers `image` as `b64_json` or as a `url` that this server serves at
`/files/<name>` (`answer` picks). `/v1/audio/transcriptions` records the uploaded file and
answers `transcript`. With `api_key` set, any other bearer key gets a 401 that quotes the key
it was given, as real servers partly do. Failures are scripted per endpoint (IMAGES, FILES,
TRANSCRIPTIONS) with `fail_next` and `send_raw_next`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

IMAGES, FILES, TRANSCRIPTIONS = "images", "files", "transcriptions"


def sample_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class UploadedAudio:
    model: str
    filename: str
    content_type: str
    data: bytes


class OpenAIMediaStandIn:
    def __init__(
        self,
        *,
        image: bytes | None = None,
        answer: Literal["b64_json", "url"] = "b64_json",
        transcript: str = "hello weworktop",
        api_key: str | None = None,
        delay: float = 0.0,
    ):
        self.image = image if image is not None else sample_png()
        self.answer = answer
        self.transcript = transcript
        self.api_key = api_key
        self.delay = delay  # seconds before each answer, for timeouts
        self._lock = threading.Lock()
        self._image_requests: list[dict[str, Any]] = []
        self._transcriptions: list[UploadedAudio] = []
        self._authorizations: dict[str, list[str | None]] = {
            IMAGES: [], FILES: [], TRANSCRIPTIONS: []
        }  # fmt: skip
        self._scripted: dict[str, deque[tuple[int, bytes]]] = {
            IMAGES: deque(), FILES: deque(), TRANSCRIPTIONS: deque()
        }  # fmt: skip
        self._files: dict[str, bytes] = {}
        self._names = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/images/generations", self._generate, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
                Route("/v1/audio/transcriptions", self._transcribe, methods=["POST"]),
            ]
        )

    @property
    def image_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._image_requests)

    @property
    def transcriptions(self) -> list[UploadedAudio]:
        with self._lock:
            return list(self._transcriptions)

    def authorizations(self, endpoint: str) -> list[str | None]:
        """The Authorization header of each call of `endpoint`, None where it was absent."""
        with self._lock:
            return list(self._authorizations[endpoint])

    @property
    def downloads(self) -> list[str | None]:
        """The Authorization header of each fetch of an image URL."""
        return self.authorizations(FILES)

    def fail_next(
        self, endpoint: str, status: int, *, times: int = 1, message: str | None = None
    ) -> None:
        error = {"message": message or f"stand-in failure {status}", "type": "standin_error"}
        self.send_raw_next(endpoint, json.dumps({"error": error}).encode(), status, times=times)

    def send_raw_next(
        self, endpoint: str, content: bytes, status: int = 200, *, times: int = 1
    ) -> None:
        with self._lock:
            self._scripted[endpoint].extend([(status, content)] * times)

    async def _arrive(self, endpoint: str, request: Request) -> Response | None:
        """Records the call; a scripted answer or a refused key ends it."""
        authorization = request.headers.get("authorization")
        with self._lock:
            self._authorizations[endpoint].append(authorization)
            scripted = self._scripted[endpoint].popleft() if self._scripted[endpoint] else None
        if self.delay:
            await asyncio.sleep(self.delay)
        if scripted is not None:
            return Response(scripted[1], status_code=scripted[0], media_type="application/json")
        # Image URLs are signed: fetching one takes no key, as on real servers.
        key_needed = endpoint != FILES and self.api_key is not None
        if key_needed and authorization != f"Bearer {self.api_key}":
            presented = (authorization or "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {presented}")
        return None

    async def _generate(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not JSON")
        with self._lock:
            self._image_requests.append(body)
        refused = await self._arrive(IMAGES, request)
        if refused is not None:
            return refused
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            return _error(400, "prompt is required")
        if self.answer == "b64_json":
            item = {"b64_json": base64.b64encode(self.image).decode("ascii")}
        else:
            with self._lock:
                name = f"image-{next(self._names)}.png"
                self._files[name] = self.image
            # A signed URL, as real servers hand out: the signature is in the query.
            item = {"url": f"{request.base_url}files/{name}?sig=standin-signature"}
        return JSONResponse({"created": 1700000000, "data": [item]})

    async def _file(self, request: Request) -> Response:
        refused = await self._arrive(FILES, request)
        if refused is not None:
            return refused
        with self._lock:
            data = self._files.get(request.path_params["name"])
        if data is None:
            return Response(b"no such file", status_code=404)
        return Response(data, media_type="image/png")

    async def _transcribe(self, request: Request) -> Response:
        async with request.form() as form:
            upload, model = form.get("file"), form.get("model")
            if isinstance(upload, UploadFile) and isinstance(model, str):
                audio = UploadedAudio(
                    model,
                    upload.filename or "",
                    upload.content_type or "",
                    await upload.read(),
                )
                with self._lock:
                    self._transcriptions.append(audio)
        refused = await self._arrive(TRANSCRIPTIONS, request)
        if refused is not None:
            return refused
        if not isinstance(upload, UploadFile) or not isinstance(model, str):
            return _error(400, "file and model are required")
        return JSONResponse({"text": self.transcript})


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status)
