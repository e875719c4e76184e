"""Requests no well-behaved client sends: a request line or headers of any size, and idle
connections. Loopback only, like every attack in these tests."""

from __future__ import annotations

import socket


def oversized_request(port: int, *, header_bytes: int = 0, url_bytes: int = 0) -> str:
    """Sends GET /healthz with a header of `header_bytes` (or a query of `url_bytes`) and
    returns the status line's code, or "reset" when the server closed the connection before
    all of it was sent or read (as a server that refuses mid-request may)."""
    query = "?q=" + "a" * url_bytes if url_bytes else ""
    head = f"GET /healthz{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
    big = b"X-Filler: " + b"a" * header_bytes + b"\r\n" if header_bytes else b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(head)
            for start in range(0, len(big), 65536):
                sock.sendall(big[start : start + 65536])
            sock.sendall(b"Connection: close\r\n\r\n")
            answer = sock.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return "reset"
    return answer.split(b" ", 2)[1].decode() if answer else "reset"


def idle_connections(port: int, count: int) -> list[socket.socket]:
    """`count` connections that send nothing; the caller closes them."""
    return [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
