"""Secrets leave their SecretStr wrapper only where an adapter needs the value."""

from __future__ import annotations

from pydantic import SecretStr


def reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
