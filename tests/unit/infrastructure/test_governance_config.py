"""The governance keys: access and quota per channel (overridable in `apps`/`aibots` entries
like every rule key), retention, prices and the read-only admin token; a wrong type stops
start-up with the key named."""

import pytest

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
