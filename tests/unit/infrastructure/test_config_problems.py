"""A configuration with mistakes: every one reported at once, strictly typed, in the project's
words (the key, what it must be, what was found), never a secret's value; and the shipped
example's placeholders refused wherever they appear."""

from __future__ import annotations

import copy
import json

import pytest

from infrastructure.config import ConfigError, load_config, parse_config
from infrastructure.config_problems import EXAMPLE_PLACEHOLDERS
from tests.support.service_process import ROOT
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE, SECRET

EXAMPLE = json.loads((ROOT / "config.example.json").read_text(encoding="utf-8"))


def problems_of(raw, environ=None) -> list[str]:
    """The lines of the error, sorted: they come in the order of the model's fields."""
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, environ or {}, source="config.json")
    return sorted(caught.value.lines)


def example_with(**changes) -> dict:
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"].update(changes)
    return raw


def test_quoted_numbers_and_yes_are_refused_each_on_its_own_line():
    lines = problems_of(example_with(port="5001", agent_id="1000001", speech_recognition="yes"))
    assert lines == [
        'config.json: services.weworktop.agent_id: must be a whole number; found the string '
        '"1000001"',
        'config.json: services.weworktop.port: must be a whole number; found the string "5001"',
        'config.json: services.weworktop.speech_recognition: must be true or false; found the '
        'string "yes"',
    ]


def test_every_missing_key_is_named_with_the_other_mistakes_not_only_the_first():
    raw = example_with(port="5001", aes_key="A" * 44)
    for key in ("corp_id", "agent_id", "token"):
        del raw["services"]["weworktop"][key]
    assert problems_of(raw) == [
        "config.json: services.weworktop.aes_key: must be WeCom's EncodingAESKey: 43 letters "
        "and digits; found 44 characters",
        "config.json: services.weworktop.agent_id: required key is missing",
        "config.json: services.weworktop.corp_id: required key is missing",
        'config.json: services.weworktop.port: must be a whole number; found the string "5001"',
        "config.json: services.weworktop.token: required key is missing",
    ]


def test_an_aes_key_of_the_wrong_length_says_the_length_it_got_and_never_the_key():
    key = "A" * 44
    [line] = problems_of(example_with(aes_key=key))
    assert line == (
        "config.json: services.weworktop.aes_key: must be WeCom's EncodingAESKey: 43 letters "
        "and digits; found 44 characters"
    )
    [line] = problems_of(example_with(aes_key="a-b" * 14 + "c"))
    assert line.endswith("found 43 characters, not all letters and digits")


def test_no_wording_of_pydantic_leaks_through():
    raw = example_with(port="x", workers=0, group_chat_prefix=[1], rate_limit={"messages": 1.5})
    raw["llm"] = {"provider": "gpt", "temperature": 3}
    raw["logging"] = "loud"
    lines = problems_of(raw)
    assert lines == [
        'config.json: llm.provider: must be one of "openai" or "echo"; found the string "gpt"',
        "config.json: llm.temperature: must be at most 2; found the number 3",
        'config.json: logging: must be an object {...}; found the string "loud"',
        "config.json: services.weworktop.group_chat_prefix.0: must be a string (in double "
        "quotes); found the number 1",
        'config.json: services.weworktop.port: must be a whole number; found the string "x"',
        "config.json: services.weworktop.rate_limit.messages: must be a whole number; found the "
        "number 1.5",
        "config.json: services.weworktop.workers: must be at least 1; found the number 0",
    ]
    assert not any("Input should" in line or "valid" in line for line in lines)


def test_a_secret_of_the_wrong_type_or_shape_is_described_never_shown():
    raw = example_with(corp_secret=987654321, token="has spaces!")
    raw["admin"] = {"enabled": True, "bearer_token": "short-secret"}
    text = "\n".join(problems_of(raw))
    assert "services.weworktop.corp_secret: must be a string (in double quotes); found a number" \
        in text
    assert "services.weworktop.token" in text and "admin.bearer_token" in text
    for value in ("987654321", "has spaces", "short-secret"):
        assert value not in text


def test_a_database_url_that_is_none_is_named_without_echoing_it():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["storage"] = {"url": "pass:word@nowhere"}
    [line] = problems_of(raw)
    assert line.startswith("config.json: storage.url: must be a database URL such as")
    assert "pass:word" not in line


def test_the_shipped_example_is_refused_on_each_of_its_placeholders():
    assert problems_of(copy.deepcopy(EXAMPLE)) == [
        "config.json: services.weworktop.aes_key: still the example's placeholder; put the "
        "EncodingAESKey set under the app's Receive messages here",
        "config.json: services.weworktop.corp_id: still the example's placeholder; put your "
        "CorpID (My Company in the WeCom admin console) here",
        "config.json: services.weworktop.corp_secret: still the example's placeholder; put the "
        "app's Secret here",
        "config.json: services.weworktop.token: still the example's placeholder; put the Token "
        "set under the app's Receive messages here",
    ]


def test_the_table_of_placeholders_is_the_example_s():
    shipped = (ROOT / "config.example.json").read_text(encoding="utf-8")
    assert all(f'"{value}"' in shipped for value in EXAMPLE_PLACEHOLDERS)


def test_secrets_from_the_environment_replace_the_placeholders():
    raw = copy.deepcopy(EXAMPLE)
    raw["services"]["weworktop"]["corp_id"] = "ww1234567890"
    environ = {
        "WEWORKTOP_CORP_SECRET": SECRET,
        "WEWORKTOP_TOKEN": "RealToken1",
        "WEWORKTOP_AES_KEY": "B" * 43,
    }
    config, _ = parse_config(raw, environ)
    assert config.wecom.token.get_secret_value() == "RealToken1"


def test_a_placeholder_is_found_in_any_section_and_alongside_type_mistakes():
    hr = {"name": "hr", "agent_id": 1000002, "corp_secret": "replace-with-the-app-secret",
          "token": "HrToken", "aes_key": "H" * 43}
    raw = example_with(port="5001", apps=[hr])
    assert problems_of(raw) == [
        "config.json: services.weworktop.apps.0.corp_secret: still the example's placeholder; "
        "put the app's Secret here",
        'config.json: services.weworktop.port: must be a whole number; found the string "5001"',
    ]


def test_a_channel_s_own_model_section_is_told_in_the_same_words():
    hr = {"name": "hr", "agent_id": 1000002, "corp_secret": "hr-secret", "token": "HrToken",
          "aes_key": "H" * 43, "llm": {"provider": "gpt", "timeout_seconds": "9"}}
    assert problems_of(example_with(apps=[hr])) == [
        'config.json: services.weworktop.apps.0.llm.provider: must be one of "openai" or '
        '"echo"; found the string "gpt"; services.weworktop.apps.0.llm.timeout_seconds: must '
        'be a number; found the string "9"'
    ]


def test_a_relative_sqlite_path_is_taken_from_the_config_file_s_folder(tmp_path):
    folder = tmp_path / "etc"
    folder.mkdir()
    for url, expected in [
        ("sqlite:///data/w.db", f"sqlite:///{folder}/data/w.db"),
        ("sqlite:////var/lib/w.db", "sqlite:////var/lib/w.db"),
        ("postgresql://u:p@db/w", "postgresql://u:p@db/w"),
    ]:
        raw = copy.deepcopy(PRODUCT_EXAMPLE)
        raw["storage"] = {"url": url}
        path = folder / "config.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        config, _ = load_config(path, {}, check_permissions=False)
        assert config.storage.url == expected
