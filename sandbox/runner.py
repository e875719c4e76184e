"""`python app.py --sandbox`: the service and the WeCom emulator, two uvicorn servers on
127.0.0.1 in one process and one event loop. The service is built by the same factory as in
production from a generated configuration whose `api_base_url` is the emulator, so every
adapter runs as it would against WeCom, over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from sandbox.corp import SAMPLE_CORP
from sandbox.emulator import SandboxEmulator
from sandbox.settings import DATA_DIR, MODEL_SECTIONS, SandboxKeys, service_config

SERVICE_PORT, EMULATOR_PORT = 5001, 5002
# "SERVICE,PAGE" ports to try first instead (0: any free port), e.g. for tests that must not
# take the well-known ones from a sandbox a person is running.
PORTS_ENV = "WEWORKTOP_SANDBOX_PORTS"
# Where an operator finds the bearer token of the sandbox's operator's view: it is a secret,
# so it is not printed; the file is readable by its owner only and removed at exit.
ADMIN_TOKEN_FILE = DATA_DIR / "sandbox-admin-token"
STOP_SECONDS = 5


# Which of the two servers is running the code that logs: both log through uvicorn's one
# logger, and "Application startup complete." twice would not say which is which.
_SERVING = contextvars.ContextVar("sandbox_server", default="")


class _NameTheServer(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SERVING.get():
            record.msg = f"{_SERVING.get()}: {record.msg}"
        return True


class _Server(uvicorn.Server):
    """Signals belong to the runner, which stops the service first, then the emulator."""

    def __init__(self, config: uvicorn.Config, name: str):
        super().__init__(config)
        self.name = name

    async def serve(self, sockets=None) -> None:
        # Set in the server's own task: everything it starts, its lifespan too, inherits it.
        _SERVING.set(self.name)
        await super().serve(sockets)

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _listen(preferred: int) -> socket.socket:
    """A listening socket on 127.0.0.1, on `preferred` if it is free, else on any free port."""
    for port in (preferred, 0):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.listen(128)
        return sock
    raise OSError("no free port on 127.0.0.1")


def _preferred_ports() -> tuple[int, int]:
    given = os.environ.get(PORTS_ENV, "")
    if not given:
        return SERVICE_PORT, EMULATOR_PORT
    try:
        service, page = (int(port) for port in given.split(","))
    except ValueError:
        raise ValueError(f"{PORTS_ENV} must be two port numbers, SERVICE,PAGE") from None
    return service, page


def models_from(path: Path | None) -> dict[str, Any] | None:
    """The llm/image/speech sections of the operator's configuration, if one is given."""
    if path is None:
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: raw[name] for name in MODEL_SECTIONS if name in raw} or None


def run_sandbox(
    create_service: Callable[[Path], Any],
    models: dict[str, Any] | None = None,
    out=sys.stdout,
) -> int:
    """`create_service(config_path)` builds the service's ASGI app (the production factory)."""
    service_port, emulator_port = _preferred_ports()
    service_sock, emulator_sock = _listen(service_port), _listen(emulator_port)
    service_url = f"http://127.0.0.1:{service_sock.getsockname()[1]}"
    emulator_url = f"http://127.0.0.1:{emulator_sock.getsockname()[1]}"
    keys = SandboxKeys.fresh(SAMPLE_CORP)
    config = service_config(
        SAMPLE_CORP, keys, service_sock.getsockname()[1], emulator_url, models
    )
    with tempfile.TemporaryDirectory(prefix="weworktop-sandbox-") as folder:
        path = Path(folder) / "config.json"
        # mkstemp-like privacy: the generated secrets are readable by this user only.
        path.touch(mode=0o600)
        path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        service = create_service(path)
    emulator = SandboxEmulator(SAMPLE_CORP, keys, service_url, emulator_url)
    _write_admin_token(keys.admin_token)
    try:
        return asyncio.run(
            _serve_both(service, emulator, service_sock, emulator_sock, emulator_url, out)
        )
    finally:
        _forget_admin_token(keys.admin_token)


def _write_admin_token(token: str) -> None:
    ADMIN_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    ADMIN_TOKEN_FILE.unlink(missing_ok=True)
    descriptor = os.open(ADMIN_TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")


def _forget_admin_token(token: str) -> None:
    # Only our own: a second sandbox started in the same folder may have written its own.
    with contextlib.suppress(OSError):
        if ADMIN_TOKEN_FILE.read_text().strip() == token:
            ADMIN_TOKEN_FILE.unlink()


async def _serve_both(
    service_app, emulator: SandboxEmulator, service_sock, emulator_sock, page_url, out
):
    quiet = {"log_config": None, "access_log": False, "timeout_graceful_shutdown": STOP_SECONDS}
    service_port, emulator_port = service_sock.getsockname()[1], emulator_sock.getsockname()[1]
    service = _Server(uvicorn.Config(service_app, **quiet), f"service (port {service_port})")
    emulator_server = _Server(
        uvicorn.Config(emulator.app, **quiet), f"WeCom emulator and page (port {emulator_port})"
    )
    names = _NameTheServer()
    logging.getLogger("uvicorn.error").addFilter(names)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if service.should_exit:  # a second Ctrl-C: stop without waiting
            service.force_exit = emulator_server.force_exit = True
        service.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    emulator_task = asyncio.create_task(emulator_server.serve(sockets=[emulator_sock]))
    service_task = asyncio.create_task(service.serve(sockets=[service_sock]))
    announce = asyncio.create_task(
        _announce(service, emulator_server, emulator.restore, service_sock, page_url, out)
    )
    try:
        await service_task
    finally:
        announce.cancel()
        emulator_server.should_exit = True
        await emulator_task
        logging.getLogger("uvicorn.error").removeFilter(names)
    return 0 if service.started else 1


async def _announce(service, emulator, restore, service_sock, page_url, out) -> None:
    while not (service.started and emulator.started):
        await asyncio.sleep(0.05)
    # Before the page is announced, so that it opens on what the store remembers.
    await restore()
    port = service_sock.getsockname()[1]
    print(
        f"weworktop sandbox: open {page_url}/ to chat as a WeCom member (Ctrl-C stops)\n"
        f"  operator's view: http://127.0.0.1:{port}/admin/ "
        f"(bearer token in {ADMIN_TOKEN_FILE.resolve()})",
        file=out,
        flush=True,
    )
