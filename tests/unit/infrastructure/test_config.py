import copy

import pytest

from infrastructure.config import ConfigError, parse_config

SECRET = "s3cr3t-corp-secret-value"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PRODUCT_EXAMPLE = {
    "services": {
        "channel_type": "weworktop",
        "weworktop": {
            "corp_id": "ww123", "corp_secret": SECRET, "agent_id": 1000001, "port": 5001,
            "token": "Token123", "aes_key": AES_KEY,
            "single_chat_prefix": [""], "single_chat_reply_prefix": "",
            "group_chat_prefix": ["小知", "@小知"], "group_name_white_list": ["南开知识社区"],
            "image_create_prefix": ["画", "生成图片", "创建图像"], "speech_recognition": True,
            "conversation_max_tokens": 4000, "max_single_msg_tokens": 1000,
        },
    }
}


def parse(raw=None, environ=None, **changes):
    raw = copy.deepcopy(raw or PRODUCT_EXAMPLE)
    raw["services"]["weworktop"].update(changes)
    return parse_config(raw, environ or {}, source="config.json")


def error_of(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(*args, **kwargs)
    return str(caught.value)


def test_the_products_documented_config_loads_with_defaults_for_the_rest():
    config, warnings = parse()
    wecom = config.wecom
    assert warnings == []
    assert (wecom.agent_id, wecom.port, wecom.host) == (1000001, 5001, "0.0.0.0")
    assert wecom.callback_path == "/wework_callback"
    assert wecom.api_base_url == "https://qyapi.weixin.qq.com"
    assert wecom.callback_max_skew_seconds == 300
    assert config.llm.provider == "echo"
    assert config.storage.url == "sqlite:///data/weworktop.db"


@pytest.mark.parametrize("key", ["corp_id", "corp_secret", "agent_id", "token", "aes_key"])
def test_a_missing_required_key_is_named(key):
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    del raw["services"]["weworktop"][key]
    assert error_of(raw) == f"config.json: services.weworktop.{key}: required key is missing"


def test_a_wrong_type_is_named_in_one_line():
    message = error_of(agent_id="abc")
    assert message.startswith("config.json: services.weworktop.agent_id: ")
    assert "\n" not in message


def test_an_invalid_aes_key_is_named_without_being_echoed():
    message = error_of(aes_key="tooshort")
    assert "services.weworktop.aes_key" in message and "43" in message
    assert "tooshort" not in message


def test_a_bad_token_is_named_without_being_echoed():
    message = error_of(token="has spaces!")
    assert "services.weworktop.token" in message and "has spaces" not in message


def test_unknown_keys_are_warnings_not_errors():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"]["coprid"] = "typo"
    raw["llm"] = {"provider": "echo", "modle": "x"}
    _, warnings = parse(raw)
    assert warnings == [
        "config.json: unknown key 'services.weworktop.coprid' is ignored",
        "config.json: unknown key 'llm.modle' is ignored",
    ]


def test_environment_secrets_win_over_the_file():
    environ = {
        "WEWORKTOP_CORP_SECRET": "from-env",
        "WEWORKTOP_TOKEN": "EnvToken",
        "WEWORKTOP_AES_KEY": "Z" * 43,
        "OPENAI_API_KEY": "sk-openai",
    }
    config, _ = parse(environ=environ)
    assert config.wecom.corp_secret.get_secret_value() == "from-env"
    assert config.wecom.token.get_secret_value() == "EnvToken"
    assert config.wecom.aes_key.get_secret_value() == "Z" * 43
    assert config.llm.api_key.get_secret_value() == "sk-openai"


def test_llm_api_key_wins_over_openai_api_key():
    config, _ = parse(environ={"OPENAI_API_KEY": "sk-openai", "LLM_API_KEY": "sk-llm"})
    assert config.llm.api_key.get_secret_value() == "sk-llm"


def test_secrets_may_come_only_from_the_environment():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    del raw["services"]["weworktop"]["corp_secret"]
    config, _ = parse(raw, environ={"WEWORKTOP_CORP_SECRET": "env-only"})
    assert config.wecom.corp_secret.get_secret_value() == "env-only"


def test_secrets_do_not_show_in_the_configs_repr():
    config, _ = parse()
    assert SECRET not in repr(config) and AES_KEY not in repr(config)


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"port": 70000}, "port"),
        ({"conversation_max_tokens": 0}, "conversation_max_tokens"),
        ({"max_single_msg_tokens": -1}, "max_single_msg_tokens"),
        ({"callback_path": "wework_callback"}, "callback_path"),
        ({"callback_max_skew_seconds": -5}, "callback_max_skew_seconds"),
        ({"workers": 0}, "workers"),
    ],
)
def test_out_of_range_values_are_named(changes, key):
    assert f"services.weworktop.{key}" in error_of(**changes)


def test_an_unknown_provider_is_named():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["llm"] = {"provider": "gpt"}
    assert "llm.provider" in error_of(raw)


def test_the_top_level_must_be_an_object():
    with pytest.raises(ConfigError, match="JSON object"):
        parse_config([], {}, source="config.json")


def test_image_and_speech_follow_the_llm_section_unless_told_otherwise():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["llm"] = {"provider": "openai", "base_url": "http://llm/v1", "api_key": "sk-llm"}
    raw["speech"] = {"base_url": "http://asr/v1", "model": "sensevoice"}
    config, warnings = parse(raw)
    assert warnings == []
    image, speech = config.image_endpoint, config.speech_endpoint
    assert (image.provider, image.base_url, image.model, image.size) == (
        "openai", "http://llm/v1", "dall-e-3", "1024x1024",
    )
    assert image.api_key.get_secret_value() == "sk-llm"
    assert (speech.provider, speech.base_url, speech.model) == (
        "openai", "http://asr/v1", "sensevoice",
    )


def test_offline_by_default_pictures_are_drawn_locally_and_voice_has_no_server():
    config, _ = parse()
    assert config.image_endpoint.provider == "offline"
    assert config.speech_endpoint.provider == "none"


def test_group_memory_takes_only_its_two_values():
    assert parse(group_memory="member")[0].wecom.group_memory == "member"
    assert "services.weworktop.group_memory" in error_of(group_memory="team")


def test_the_files_watched_for_disk_space_are_the_sqlite_database_and_the_spool():
    config, _ = parse()
    assert config.storage.min_free_mib == 256
    assert [str(p) for p in config.storage.local_files()] == ["data/weworktop.db", "data/spool.db"]
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["storage"] = {"url": "postgresql://bot@db/weworktop", "spool_path": "/var/spool/w.db"}
    config, _ = parse(raw)
    assert [str(p) for p in config.storage.local_files()] == ["/var/spool/w.db"]
    raw["storage"]["min_free_mib"] = -1
    assert "storage.min_free_mib" in error_of(raw)
