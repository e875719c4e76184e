"""Where the service may send a request whose URL came from outside (SECURITY.md, "Requests
the service makes"): an AI bot message's response_url goes only to WeCom's API origin, or to
the operator's `api_base_url` (a fixed-IP proxy, or a local stand-in in tests), never to an
address a message names. Anything else would let whoever can sign one message make the worker
POST into the service's own network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

WECOM_API_ORIGIN = "https://qyapi.weixin.qq.com"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an absolute http(s) URL; None for anything else, or a malformed port."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        return cls.named(scheme, parts.hostname, port)

    @classmethod
    def named(cls, scheme: str, host: str, port: int | None) -> Origin:
        scheme = scheme.lower()
        return cls(scheme, host.lower().rstrip("."), port or _DEFAULT_PORTS.get(scheme, 0))


class TrustedOrigins:
    """The origins a URL from outside may point to: scheme, host and port all as configured."""

    def __init__(self, urls: Iterable[str]):
        self._origins = frozenset(origin for url in urls if (origin := Origin.of(url)))

    def admits(self, url: str) -> bool:
        return Origin.of(url) in self._origins

    def admits_origin(self, origin: Origin) -> bool:
        return origin in self._origins


def response_url_origins(api_base_url: str) -> TrustedOrigins:
    """WeCom's own origin, and the configured API base (which tests point at a stand-in)."""
    return TrustedOrigins([WECOM_API_ORIGIN, api_base_url])
