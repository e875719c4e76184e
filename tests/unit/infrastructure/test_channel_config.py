"""Several apps and bots in one configuration: each resolved with its own keys, path, rules and
model; every way two channels could collide is refused at start-up, naming what collides."""

import copy
import json
import os
import stat

import pytest

from infrastructure.app_factory import secrets_of
from infrastructure.channel_settings import AiBotChannelSettings, AppChannelSettings
from infrastructure.config import ConfigError, load_config, parse_config
from tests.unit.infrastructure.test_config import AES_KEY, PRODUCT_EXAMPLE

HR = {
    "name": "hr", "agent_id": 1000002, "corp_secret": "hr-secret-value", "token": "HrToken",
    "aes_key": "h" * 43, "callback_path": "/wework_callback/hr",
    "welcome_message": "我是 HR 助手",
    "llm": {"model": "gpt-4o", "system_prompt": "你是人事助手"},
}
IT = {
    "name": "it", "agent_id": 1000003, "corp_secret": "it-secret-value", "token": "ItToken",
    "aes_key": "i" * 43, "single_chat_prefix": ["IT"], "rate_limit": None,
}
TEAM = {"name": "team", "token": "TeamToken", "aes_key": "t" * 43}


def several(**changes):
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"].update(
        {"apps": [copy.deepcopy(HR), copy.deepcopy(IT)], "aibots": [copy.deepcopy(TEAM)]}
    )
    raw["services"]["weworktop"].update(changes)
    return raw


def channels_of(raw, environ=None):
    config, _warnings = parse_config(raw, environ or {}, source="config.json")
    return {channel.id: channel for channel in config.channels}


def error_of(raw) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {}, source="config.json")
    return str(caught.value)


def test_the_seeds_single_app_is_the_app_named_default_unchanged():
    [app] = channels_of(copy.deepcopy(PRODUCT_EXAMPLE)).values()
    assert isinstance(app, AppChannelSettings)
    assert (app.id, app.callback_path, app.agent_id, app.corp_id) == (
        "app:default", "/wework_callback", 1000001, "ww123",
    )
    assert app.rules.group_chat_prefix == ["小知", "@小知"]
    assert app.describe() == "app default (agent 1000001) at /wework_callback"


def test_apps_and_bots_get_their_own_keys_paths_rules_and_models():
    channels = channels_of(several())
    assert list(channels) == ["app:default", "app:hr", "app:it", "aibot:team"]
    hr, it, team = channels["app:hr"], channels["app:it"], channels["aibot:team"]
    assert hr.describe() == "app hr (agent 1000002) at /wework_callback/hr"
    assert it.callback_path == "/wework_callback/it"  # the default path
    assert team.callback_path == "/wework_aibot/team" and isinstance(team, AiBotChannelSettings)
    assert hr.corp_secret.get_secret_value() == "hr-secret-value" and hr.corp_id == "ww123"
    # Rules: the top level's, with what the entry sets in their place.
    assert hr.rules.welcome_message == "我是 HR 助手" and it.rules.welcome_message == ""
    assert it.rules.single_chat_prefix == ["IT"] and hr.rules.single_chat_prefix == [""]
    assert hr.rules.group_chat_prefix == ["小知", "@小知"] == team.rules.group_chat_prefix
    assert it.rules.rate_limit is None and hr.rules.rate_limit is not None
    # Models: the entry's section merged over the top level's.
    assert (hr.llm.model, hr.llm.system_prompt) == ("gpt-4o", "你是人事助手")
    assert hr.llm.provider == channels["app:default"].llm.provider
    assert it.llm == channels["app:default"].llm


def test_the_seeds_aibot_object_is_the_bot_named_default():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"]["aibot"] = {
        "enabled": True, "token": "BotToken", "aes_key": AES_KEY, "stream_seconds": 60,
    }
    bot = channels_of(raw)["aibot:default"]
    assert (bot.callback_path, bot.stream_seconds) == ("/wework_aibot", 60)


def test_a_deployment_of_bots_alone_needs_no_app_keys():
    raw = {"services": {"weworktop": {"aibots": [TEAM]}}}
    assert list(channels_of(raw)) == ["aibot:team"]


def test_an_app_of_another_corp_names_its_corp():
    raw = several()
    raw["services"]["weworktop"]["apps"][1].update(corp_id="ww999", agent_id=1000002)
    channels = channels_of(raw)
    assert channels["app:it"].corp_id == "ww999"  # the same agent id in another corp is fine


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda w: w["apps"][1].update(name="hr"), "two channels are named 'hr'"),
        (lambda w: w["aibots"][0].update(name="it"), "two channels are named 'it'"),
        (lambda w: w["apps"][0].update(name="default"), "two channels are named 'default'"),
        (lambda w: w["apps"][1].update(callback_path="/wework_callback/hr"),
         "two channels have the callback_path '/wework_callback/hr'"),
        (lambda w: w["aibots"][0].update(callback_path="/wework_callback"),
         "two channels have the callback_path '/wework_callback'"),
        (lambda w: w["apps"][1].update(callback_path="/admin/it"),
         "callback_path '/admin/it' is one of the service's own paths"),
        (lambda w: w["apps"][1].update(agent_id=1000002),
         "two apps have agent_id 1000002 in corp ww123"),
        (lambda w: w["apps"][0].update(name="HR"),
         "services.weworktop.apps.0.name: 'HR' is not 1 to 32 of a-z, 0-9, '_' and '-'"),
        (lambda w: w["apps"][0].update(name="x" * 33), "services.weworktop.apps.0.name: "),
        (lambda w: w["apps"][1].pop("corp_secret"),
         "services.weworktop.apps.1.corp_secret: required key is missing"),
        (lambda w: w["aibots"][0].pop("aes_key"),
         "services.weworktop.aibots.0.aes_key: required key is missing"),
        (lambda w: w["apps"][0].update(token="has space"),
         "services.weworktop.apps.0.token: must be WeCom's callback Token"),
        (lambda w: w["apps"][0].update(llm={"temperature": 9}),
         "services.weworktop.apps.0.llm.temperature: "),
        (lambda w: w["apps"][0].update(callback_path="hr"),
         "services.weworktop.apps.0.callback_path: must start with '/'"),
    ],
)
def test_each_collision_or_mistake_stops_start_up_with_one_line_naming_it(change, expected):
    raw = several()
    change(raw["services"]["weworktop"])
    message = error_of(raw)
    assert message.startswith("config.json: ") and expected in message
    assert "\n" not in message and "hr-secret-value" not in message and "has space" not in message


def test_nothing_to_serve_is_said_plainly():
    assert "no channel is configured" in error_of({"services": {"weworktop": {"corp_id": "ww"}}})


def test_an_apps_corp_id_is_needed_somewhere():
    raw = {"services": {"weworktop": {"apps": [HR]}}}
    assert "corp_id is missing here and at the top level" in error_of(raw)


def test_each_entrys_secrets_come_from_variables_named_after_it():
    raw = several()
    for key in ("corp_secret", "token", "aes_key"):
        del raw["services"]["weworktop"]["apps"][0][key]
    environ = {
        "WEWORKTOP_APP_HR_CORP_SECRET": "from-env-secret",
        "WEWORKTOP_APP_HR_TOKEN": "EnvToken",
        "WEWORKTOP_APP_HR_AES_KEY": "e" * 43,
        "WEWORKTOP_AIBOT_TEAM_TOKEN": "EnvBotToken",
    }
    channels = channels_of(raw, environ)
    hr, team = channels["app:hr"], channels["aibot:team"]
    assert hr.corp_secret.get_secret_value() == "from-env-secret"
    assert (hr.token.get_secret_value(), hr.aes_key.get_secret_value()) == ("EnvToken", "e" * 43)
    assert team.token.get_secret_value() == "EnvBotToken"


def test_a_name_with_a_dash_is_an_underscore_in_its_variables():
    raw = several()
    raw["services"]["weworktop"]["apps"][1]["name"] = "it-desk"
    environ = {"WEWORKTOP_APP_IT_DESK_CORP_SECRET": "desk-secret"}
    it = channels_of(raw, environ)["app:it-desk"]
    assert it.corp_secret.get_secret_value() == "desk-secret"


def test_every_channels_secrets_are_kept_out_of_the_log():
    config, _ = parse_config(several(), {})
    secrets = secrets_of(config)
    for secret in ("hr-secret-value", "HrToken", "h" * 43, "it-secret-value", "TeamToken"):
        assert secret in secrets


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_readable_file_with_an_entrys_secret_is_warned_about(tmp_path):
    raw = {"services": {"weworktop": {"corp_id": "ww1", "apps": [HR]}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    path.chmod(0o644)
    _config, warnings = load_config(path, {})
    assert any("chmod 600" in warning for warning in warnings)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert not any("chmod 600" in warning for warning in load_config(path, {})[1])


def test_media_keys_and_reply_format_are_per_channel_over_the_top_levels():
    raw = several(image_understanding=True, max_image_bytes=5_000_000)
    raw["services"]["weworktop"]["apps"][0].update(reply_format="markdown")
    raw["services"]["weworktop"]["aibots"][0].update(file_understanding=True)
    raw["llm"] = {"vision_model": "qwen-vl-plus"}
    channels = channels_of(raw)
    default, hr, team = channels["app:default"], channels["app:hr"], channels["aibot:team"]
    assert (default.rules.reply_format, hr.rules.reply_format) == ("text", "markdown")
    assert hr.rules.image_understanding and hr.rules.max_image_bytes == 5_000_000
    assert team.rules.file_understanding and not default.rules.file_understanding
    assert team.llm.vision_model == "qwen-vl-plus"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("reply_format", "html", "services.weworktop.reply_format"),
        ("max_file_bytes", 50_000_000, "services.weworktop.max_file_bytes"),
        ("max_prompt_images", 0, "services.weworktop.max_prompt_images"),
        ("image_prompt", "", "services.weworktop.image_prompt"),
    ],
)
def test_a_wrong_media_key_stops_start_up_naming_it(key, value, message):
    assert error_of(several(**{key: value})).startswith(f"config.json: {message}")
