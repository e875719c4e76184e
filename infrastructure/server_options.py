"""How uvicorn serves the app: the limits that hold before a request reaches any of our code.

uvicorn's default HTTP parser (httptools) buffers a header of any size: one 100 MB header grew
the process from 105 to 264 MB, and a handful of connections exhaust memory before anything is
authenticated. h11, uvicorn's other parser, refuses (400) a request line plus headers larger
than `max_header_bytes`, and `max_connections` answers 503 beyond that many open connections,
so what unauthenticated callers can make the process hold is bounded by their product. Slow
and idle connections are a reverse proxy's job (README, "In front of the service").
"""

from __future__ import annotations

from typing import Any

from infrastructure.config import AppConfig


def uvicorn_options(config: AppConfig) -> dict[str, Any]:
    wecom = config.wecom
    return {
        "host": wecom.host,
        "port": wecom.port,
        "http": "h11",
        "h11_max_incomplete_event_size": wecom.max_header_bytes,
        "limit_concurrency": wecom.max_connections,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": wecom.shutdown_grace_seconds,
        # HTTPS served directly, when a certificate is configured (else a proxy's job).
        "ssl_certfile": wecom.ssl_certfile,
        "ssl_keyfile": wecom.ssl_keyfile,
    }
