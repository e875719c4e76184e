"""Security settings: the admin surface, the rate limit, the log level, and a warning about
a configuration file that every local user can read."""

from __future__ import annotations

import copy
import json
import os

import httpx
import pytest

from infrastructure.app_factory import build_app, secrets_of
from infrastructure.channel_parts import rate_limit
from infrastructure.config import ConfigError, load_config, parse_config
from infrastructure.container import Container
from tests.fakes.event_store import InMemoryEventStore
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE, SECRET

ADMIN_TOKEN = "a-long-random-admin-token-123"


def config_with(environ=None, **sections):
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw.update(sections)
    return parse_config(raw, environ or {}, source="config.json")[0]


def error_of(**sections) -> str:
    with pytest.raises(ConfigError) as caught:
        config_with(**sections)
    return str(caught.value)


def test_the_admin_surface_is_off_by_default_and_needs_no_token():
    config = config_with()
    assert config.admin.enabled is False and config.admin.bearer_token is None


def test_enabling_admin_without_a_token_stops_start_up_with_one_line():
    message = error_of(admin={"enabled": True})
    assert message == (
        "config.json: admin.bearer_token: required when admin.enabled is true "
        "(or set WEWORKTOP_ADMIN_TOKEN)"
    )


def test_a_short_admin_token_is_refused_without_being_echoed():
    message = error_of(admin={"enabled": True, "bearer_token": "letmein"})
    assert "admin.bearer_token" in message and "16 characters" in message
    assert "letmein" not in message


def test_the_admin_token_may_come_from_the_environment():
    config = config_with(
        environ={"WEWORKTOP_ADMIN_TOKEN": ADMIN_TOKEN}, admin={"enabled": True}
    )
    assert config.admin.bearer_token.get_secret_value() == ADMIN_TOKEN
    assert ADMIN_TOKEN in secrets_of(config)
    assert ADMIN_TOKEN not in repr(config)


def test_the_rate_limit_defaults_to_20_model_calls_a_minute():
    limit = rate_limit(config_with().wecom)
    assert (limit.messages, limit.per_seconds, limit.enabled) == (20, 60, True)


@pytest.mark.parametrize("setting", [None, {"messages": 0}])
def test_the_rate_limit_can_be_turned_off(setting):
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"]["rate_limit"] = setting
    config, _ = parse_config(raw, {})
    assert rate_limit(config.wecom).enabled is False


def test_a_negative_rate_limit_is_named():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"]["rate_limit"] = {"messages": -1}
    with pytest.raises(ConfigError, match="services.weworktop.rate_limit.messages"):
        parse_config(raw, {})


def test_an_unknown_log_level_is_named():
    assert "logging.level" in error_of(logging={"level": "TRACE"})


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize(
    "mode, with_secrets, warned",
    [(0o644, True, True), (0o640, True, False), (0o600, True, False), (0o644, False, False)],
)
def test_a_world_readable_config_with_secrets_is_warned_about(tmp_path, mode, with_secrets, warned):
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    environ = {}
    if not with_secrets:
        weworktop = raw["services"]["weworktop"]
        environ = {
            "WEWORKTOP_CORP_SECRET": weworktop.pop("corp_secret"),
            "WEWORKTOP_TOKEN": weworktop.pop("token"),
            "WEWORKTOP_AES_KEY": weworktop.pop("aes_key"),
        }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    path.chmod(mode)
    _, warnings = load_config(path, environ)
    readable = [w for w in warnings if "every user of this machine can read it" in w]
    assert bool(readable) is warned
    if warned:
        assert readable == [
            f"{path}: every user of this machine can read it (mode 644) and it holds secrets; "
            f"run 'chmod 600 {path}', or move the secrets to environment variables"
        ]
        assert SECRET not in readable[0]


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_admin_routes_exist_only_when_enabled(enabled):
    config = config_with(admin={"enabled": enabled, "bearer_token": ADMIN_TOKEN})
    container = Container(config=config)
    container.event_store.override(InMemoryEventStore())
    app = build_app(container)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://weworktop.test"
    ) as client:
        response = await client.get(
            "/admin/api/stats", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    if enabled:
        assert response.json() == {"events_by_type": {}, "pending_messages": 0}
    else:
        assert response.status_code == 404
