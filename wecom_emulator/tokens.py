"""The apps WeCom knows and the access tokens it hands them (WECOM.md, "Outbound API").

An app is known by its corp and its Secret: gettoken with a corpid WeCom does not know is
40013, with a Secret no app of that corp has 40001. Each app gets its own token, the same one
again until it expires; a token names its app, so WeCom can refuse it for another app's
agentid (301002). A token no longer known is 40014, one past its expiry 42001, none 41001.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from wecom_emulator.errors import Refused


@dataclass(frozen=True)
class App:
    """One self-built app of a corp. The Secret is random unless given (so a test looking for
    it in logs cannot meet it by accident), and never shown by repr."""

    corp_id: str
    agent_id: int
    corp_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)


@dataclass(frozen=True)
class _Token:
    app: App
    expiry: float  # on time.monotonic


class TokenBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._apps: list[App] = []
        self._tokens: dict[str, _Token] = {}
        self._issued: list[str] = []

    def add(self, app: App) -> None:
        with self._lock:
            if any((a.corp_id, a.agent_id) == (app.corp_id, app.agent_id) for a in self._apps):
                raise ValueError(f"corp {app.corp_id} has an app {app.agent_id} already")
            self._apps.append(app)

    @property
    def apps(self) -> list[App]:
        with self._lock:
            return list(self._apps)

    def app_for(self, corp_id: str, corp_secret: str) -> App | None:
        """The app these gettoken credentials name, if any."""
        return next(
            (a for a in self.apps if (a.corp_id, a.corp_secret) == (corp_id, corp_secret)), None
        )

    def fetch(self, corp_id: str, corp_secret: str, lifetime: int) -> tuple[str, int]:
        """gettoken: the app's current token and its seconds left, or a new one that lives
        `lifetime` seconds."""
        app = self.app_for(corp_id, corp_secret)
        if app is None:
            known_corp = any(a.corp_id == corp_id for a in self.apps)
            raise Refused(40001 if known_corp else 40013)
        now = time.monotonic()
        with self._lock:
            for value, token in self._tokens.items():
                if token.app == app and token.expiry > now:
                    return value, int(token.expiry - now)
            value = secrets.token_urlsafe(48)
            self._tokens[value] = _Token(app, now + lifetime)
            self._issued.append(value)
        return value, lifetime

    def owner(self, value: str) -> App | None:
        """The app a token was handed to, valid or not."""
        with self._lock:
            token = self._tokens.get(value)
        return None if token is None else token.app

    def check(self, value: str) -> App:
        """The app a valid token belongs to; WeCom's refusal of any other."""
        if not value:
            raise Refused(41001)
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            raise Refused(40014)
        if time.monotonic() >= token.expiry:
            raise Refused(42001)
        return token.app

    def expire(self, app: App | None = None) -> None:
        """Every token handed out so far (to `app`, or to any) answers 42001 from now on."""
        now = time.monotonic()
        with self._lock:
            for value, token in self._tokens.items():
                if app in (None, token.app):
                    self._tokens[value] = _Token(token.app, min(token.expiry, now))

    def revoke(self, app: App | None = None) -> None:
        """Every token handed out so far (to `app`, or to any) answers 40014 from now on."""
        with self._lock:
            self._tokens = {
                value: token
                for value, token in self._tokens.items()
                if app not in (None, token.app)
            }

    @property
    def issued(self) -> list[str]:
        """Every token handed out, oldest first."""
        with self._lock:
            return list(self._issued)
