"""`services.weworktop.aibot`: off unless asked for, its secrets from the file or the
environment, one clear line for each mistake."""

import copy

import pytest

from infrastructure.app_factory import secrets_of
from infrastructure.config import ConfigError, parse_config
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE

TOKEN, AES_KEY = "BotToken42", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def parse(aibot=None, environ=None):
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    if aibot is not None:
        raw["services"]["weworktop"]["aibot"] = aibot
    return parse_config(raw, environ or {}, source="config.json")


def error_of(aibot, environ=None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(aibot, environ)
    return str(caught.value)


def test_the_ai_bot_is_off_by_default_and_needs_nothing():
    config, warnings = parse()
    aibot = config.wecom.aibot
    assert warnings == []
    assert (aibot.enabled, aibot.callback_path, aibot.show_thinking) == (
        False, "/wework_aibot", False,
    )
    assert aibot.stream_seconds == 300


def test_enabled_it_takes_its_secrets_from_the_file_or_the_environment():
    config, _ = parse({"enabled": True, "token": TOKEN, "aes_key": AES_KEY})
    assert config.wecom.aibot.token.get_secret_value() == TOKEN
    environ = {"WEWORKTOP_AIBOT_TOKEN": "EnvToken1", "WEWORKTOP_AIBOT_AES_KEY": AES_KEY}
    config, _ = parse({"enabled": True, "token": TOKEN}, environ)
    assert config.wecom.aibot.token.get_secret_value() == "EnvToken1"
    assert {"EnvToken1", AES_KEY} <= set(secrets_of(config))


def test_enabled_without_a_token_stops_start_up_naming_the_key_and_the_variable():
    message = error_of({"enabled": True, "aes_key": AES_KEY})
    assert message == (
        "config.json: services.weworktop.aibot.token: required when aibot.enabled is true "
        "(or set WEWORKTOP_AIBOT_TOKEN)"
    )


@pytest.mark.parametrize(
    ("aibot", "key"),
    [
        ({"enabled": True, "token": TOKEN, "aes_key": "short"}, "aibot.aes_key"),
        ({"enabled": True, "token": "has space", "aes_key": AES_KEY}, "aibot.token"),
        ({"callback_path": "wework_aibot"}, "aibot.callback_path"),
        ({"stream_seconds": 600}, "aibot.stream_seconds"),
    ],
)
def test_a_wrong_value_is_named_without_echoing_it(aibot, key):
    message = error_of(aibot)
    assert message.startswith(f"config.json: services.weworktop.{key}: ")
    assert "short" not in message and "has space" not in message


def test_the_ai_bot_cannot_share_the_apps_callback_path():
    message = error_of(
        {"enabled": True, "token": TOKEN, "aes_key": AES_KEY, "callback_path": "/wework_callback"}
    )
    assert "two channels have the callback_path '/wework_callback'" in message
