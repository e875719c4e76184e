"""The governance keys: access and quota per channel (overridable in `apps`/`aibots` entries
like every rule key), retention, prices and the read-only admin token; a wrong type stops
start-up with the key named."""

import pytest

from infrastructure.app_factory import secrets_of
from infrastructure.startup_notes import startup_notes
from tests.unit.infrastructure.test_channel_config import channels_of, several
from tests.unit.infrastructure.test_config import error_of, parse


def test_access_is_a_rule_key_that_an_entry_overrides():
    raw = several(access={"allow_departments": [2], "denied_reply": "仅限研发部"})
    raw["services"]["weworktop"]["apps"][1]["access"] = {"allow_users": ["zhangsan"]}
    channels = channels_of(raw)
    assert channels["app:hr"].rules.access.allow_departments == [2]
    assert channels["app:hr"].rules.access.denied_reply == "仅限研发部"
    assert channels["app:it"].rules.access.allow_users == ["zhangsan"]
    assert channels["app:it"].rules.access.allow_departments == []


@pytest.mark.parametrize(
    ("access", "key"),
    [
        ({"allow_users": "zhangsan"}, "access.allow_users"),
        ({"allow_departments": ["研发部"]}, "access.allow_departments.0"),
        ({"denied_reply": 3}, "access.denied_reply"),
    ],
)
def test_an_access_key_of_the_wrong_type_stops_start_up_naming_it(access, key):
    assert error_of(access=access).startswith(f"config.json: services.weworktop.{key}: ")


def test_a_bot_told_to_check_departments_says_at_start_up_that_it_cannot():
    config, _ = parse(
        raw=several(access={"allow_departments": [2]}, quota={"department_tokens_per_month": 9}),
        group_name_white_list=["ALL_GROUP"], speech_recognition=False,
    )
    assert startup_notes(config, lambda: None) == [
        "aibot:team: access lists departments, but an AI bot cannot look members' departments "
        "up: only access.allow_users admits anyone to it",
        "aibot:team: quota.department_tokens_per_month does not apply to an AI bot, which "
        "cannot look members' departments up (member_tokens_per_day does)",
    ]


def test_quota_is_a_rule_key_that_an_entry_overrides():
    raw = several(quota={"member_tokens_per_day": 20000})
    raw["services"]["weworktop"]["apps"][0]["quota"] = {"department_tokens_per_month": 10**6}
    channels = channels_of(raw)
    assert channels["app:hr"].rules.quota.department_tokens_per_month == 10**6
    assert channels["app:hr"].rules.quota.member_tokens_per_day == 0
    assert channels["app:it"].rules.quota.member_tokens_per_day == 20000


@pytest.mark.parametrize(
    ("quota", "key"),
    [
        ({"member_tokens_per_day": "lots"}, "quota.member_tokens_per_day"),
        ({"department_tokens_per_month": -1}, "quota.department_tokens_per_month"),
        ("20000", "quota"),
    ],
)
def test_a_quota_key_of_the_wrong_type_stops_start_up_naming_it(quota, key):
    assert error_of(quota=quota).startswith(f"config.json: services.weworktop.{key}: ")


ADMIN = "admin-token-0123456789abcdef"


def admin(**keys):
    raw = several()
    raw["admin"] = {"enabled": True, "bearer_token": ADMIN, **keys}
    return raw


def test_a_read_only_token_is_a_secret_from_the_file_or_the_environment():
    config, _ = parse(raw=admin(read_only_token="dashboard-token-0123456789"))
    assert config.admin.read_only_token.get_secret_value() == "dashboard-token-0123456789"
    assert "dashboard-token-0123456789" in secrets_of(config)
    from_env, _ = parse(
        raw=admin(), environ={"WEWORKTOP_ADMIN_READ_ONLY_TOKEN": "from-the-environment-123"}
    )
    assert from_env.admin.read_only_token.get_secret_value() == "from-the-environment-123"


@pytest.mark.parametrize(
    ("token", "message"),
    [("short", "must be at least 16 characters"), (ADMIN, "must differ from bearer_token")],
)
def test_a_weak_or_repeated_read_only_token_stops_start_up(token, message):
    assert error_of(raw=admin(read_only_token=token)) == (
        f"config.json: admin.read_only_token: {message}"
        + ("; use a long random value" if token == "short" else "")
    )


def test_retention_days_and_prices_are_checked_too():
    assert error_of(raw=several() | {"storage": {"retention_days": 0}}).startswith(
        "config.json: storage.retention_days: "
    )
    assert error_of(raw=several() | {"llm": {"price": {"input_per_1k": "cheap"}}}).startswith(
        "config.json: llm.price.input_per_1k: "
    )
