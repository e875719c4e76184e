"""Serving the app on its configured address, as `python app.py` does.

The listening socket is bound before the service starts: "ready" is then said only when
callbacks can arrive (the kernel queues them until the first is served), and an address that
cannot be had is named, with the setting that chose it, before anything else happens. With a
certificate configured the service speaks HTTPS itself; it is read before the socket is bound,
so a bad one is named too, not shown as a traceback.
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from infrastructure.server_options import uvicorn_options

log = logging.getLogger("weworktop")

# As uvicorn's default: callbacks arriving together wait in the kernel, not refused.
BACKLOG = 2048


class CannotListen(Exception):
    """The configured address cannot be listened on; the message says why and what to set."""


def serve(app: Starlette, config_path: Path) -> int:
    """Runs until stopped; the exit code (2: the service could not start)."""
    config = app.state.config
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(config)))
    try:
        server.config.load()
        sock = listening_socket(config.wecom.host, config.wecom.port)
    except CannotListen as err:
        log.error("weworktop cannot start: %s: %s", config_path, err)
        return 2
    except OSError as err:  # the certificate or key: missing, unreadable, not PEM (ssl.SSLError)
        reason = err.strerror or getattr(err, "reason", None) or type(err).__name__
        log.error(
            "weworktop cannot start: %s: services.weworktop.ssl_certfile and ssl_keyfile are "
            "not a usable PEM certificate and key (%s)",
            config_path,
            reason,
        )
        return 2
    server.run(sockets=[sock])
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # A restart may bind at once, while the old process's connections linger in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as err:
        sock.close()
        raise CannotListen(_why(err, host, port)) from None
    sock.set_inheritable(True)
    return sock


def _why(err: OSError, host: str, port: int) -> str:
    if err.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is taken by another program (services.weworktop.port): "
            "stop that program, or set another port"
        )
    if err.errno == errno.EACCES:
        return (
            f"port {port} needs privileges this process does not have "
            "(services.weworktop.port): use a port above 1023, behind a reverse proxy if "
            "WeCom must call 80 or 443"
        )
    if err.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine (services.weworktop.host)"
    return (
        f"cannot listen on {host} port {port} (services.weworktop.host and port): "
        f"{err.strerror or type(err).__name__}"
    )
