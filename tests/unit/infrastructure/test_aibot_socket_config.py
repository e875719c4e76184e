"""An `aibots` entry in long-connection mode (`"mode": "websocket"`): a BotID and a Secret
instead of callback keys, its own defaults, its secret from the environment, and one clear
line for each mistake."""

import copy
import logging

import pytest

from infrastructure.app_factory import secrets_of
from infrastructure.channel_settings import AiBotChannelSettings, AiBotSocketChannelSettings
from infrastructure.config import ConfigError, parse_config
from infrastructure.logging_setup import configure_logging
from tests.unit.infrastructure.test_redaction import restore_logging  # noqa: F401 (fixture)

BOT_SECRET = "bot-secret-from-the-admin-page"
TEAM = {"name": "team", "mode": "websocket", "bot_id": "aib-team-01", "secret": BOT_SECRET}


def config_with(*bots):
    return {"services": {"weworktop": {"aibots": [copy.deepcopy(bot) for bot in bots]}}}


def channels_of(raw, environ=None):
    config, _ = parse_config(raw, environ or {}, source="config.json")
    return {channel.id: channel for channel in config.channels}


def error_of(raw, environ=None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, environ or {}, source="config.json")
    return str(caught.value)


def test_a_websocket_bot_needs_only_its_bot_id_and_secret():
    team = channels_of(config_with(TEAM))["aibot:team"]
    assert isinstance(team, AiBotSocketChannelSettings)
    assert (team.bot_id, team.secret.get_secret_value()) == ("aib-team-01", BOT_SECRET)
    assert (team.ws_url, team.heartbeat_seconds) == ("wss://openws.work.weixin.qq.com", 30.0)
    assert team.describe() == "aibot team over a long connection to wss://openws.work.weixin.qq.com"


def test_the_mode_defaults_to_callback_as_before():
    team = channels_of(config_with({"name": "team", "token": "T1", "aes_key": "t" * 43}))
    assert isinstance(team["aibot:team"], AiBotChannelSettings)


def test_ws_url_heartbeat_rules_and_models_are_its_own():
    bot = {**TEAM, "ws_url": "ws://127.0.0.1:9/", "heartbeat_seconds": 5,
           "welcome_message": "你好", "llm": {"model": "gpt-4o"}}
    team = channels_of(config_with(bot))["aibot:team"]
    assert (team.ws_url, team.heartbeat_seconds) == ("ws://127.0.0.1:9/", 5)
    assert (team.rules.welcome_message, team.llm.model) == ("你好", "gpt-4o")


def test_the_secret_can_come_from_the_environment_and_is_kept_out_of_the_log():
    bot = {key: value for key, value in TEAM.items() if key != "secret"}
    raw = config_with(bot)
    team = channels_of(raw, {"WEWORKTOP_AIBOT_TEAM_SECRET": "from-env"})["aibot:team"]
    assert team.secret.get_secret_value() == "from-env"
    config, _ = parse_config(config_with(TEAM), {})
    assert BOT_SECRET in secrets_of(config)


def test_a_websocket_bot_and_a_callback_bot_live_side_by_side():
    callback = {"name": "desk", "token": "DeskToken", "aes_key": "d" * 43}
    channels = channels_of(config_with(TEAM, callback))
    assert list(channels) == ["aibot:team", "aibot:desk"]
    assert channels["aibot:desk"].callback_path == "/wework_aibot/desk"


@pytest.mark.parametrize(
    ("bot", "expected"),
    [
        ({**TEAM, "mode": "socket"},
         'services.weworktop.aibots.0.mode: must be one of "callback" or "websocket"'),
        ({key: v for key, v in TEAM.items() if key != "bot_id"},
         "services.weworktop.aibots.0.bot_id: required key is missing"),
        ({key: v for key, v in TEAM.items() if key != "secret"},
         "services.weworktop.aibots.0.secret: required key is missing"),
        ({**TEAM, "token": "T1", "aes_key": "t" * 43},
         "services.weworktop.aibots.0: token, aes_key: not used in mode 'websocket', "
         "which takes bot_id and secret"),
        ({**TEAM, "callback_path": "/wework_aibot/team"},
         "services.weworktop.aibots.0: callback_path: not used in mode 'websocket'"),
        ({"name": "team", "token": "T1", "aes_key": "t" * 43, "bot_id": "aib"},
         "services.weworktop.aibots.0: bot_id: not used in mode 'callback', "
         "which takes token and aes_key"),
        ({**TEAM, "ws_url": "https://openws.work.weixin.qq.com"},
         "services.weworktop.aibots.0.ws_url: "),
        ({**TEAM, "heartbeat_seconds": 0}, "services.weworktop.aibots.0.heartbeat_seconds: "),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(bot, expected):
    message = error_of(config_with(bot))
    assert message.startswith("config.json: ") and expected in message
    assert "\n" not in message and BOT_SECRET not in message


def test_two_entries_for_one_bot_would_kick_each_other_off():
    message = error_of(config_with(TEAM, {**TEAM, "name": "team2"}))
    assert "two aibots have bot_id 'aib-team-01'" in message


@pytest.mark.usefixtures("restore_logging")
def test_at_debug_level_the_websocket_library_never_logs_a_frame(capsys):
    configure_logging([], level="DEBUG")
    frame = '{"cmd": "aibot_subscribe", "body": {"secret": "s3cret-of-the-bot"}}'
    logging.getLogger("websockets.client").debug("> TEXT %s", frame)
    logging.getLogger("weworktop.test").debug("the service's own debug line")
    err = capsys.readouterr().err
    assert "s3cret-of-the-bot" not in err and "the service's own debug line" in err
