import copy

import pytest

from infrastructure.channel_parts import chat_rules
from infrastructure.channel_settings import AppChannelSettings
from infrastructure.config import parse_config
from infrastructure.startup_notes import startup_notes
from sandbox.corp import SAMPLE_CORP
from sandbox.settings import SandboxKeys, service_config
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE


def config_with(llm=None, speech=None, **changes):
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"].update(changes)
    raw.update({name: section for name, section in (("llm", llm), ("speech", speech)) if section})
    return parse_config(raw, {})[0]


def notes_for(ffmpeg_warning=None, **changes) -> list[str]:
    return startup_notes(config_with(**changes), lambda: ffmpeg_warning)


def test_voice_on_without_a_speech_service_says_plainly_what_members_will_get():
    assert notes_for() == [
        "speech_recognition is on but there is no speech-to-text service: voice messages will "
        "get a 'voice is off' reply; set a `speech` section to transcribe them"
    ]


def test_and_voice_then_gets_the_voice_is_off_reply_as_the_warning_says():
    [offline] = config_with().channels
    assert chat_rules(offline).speech_recognition is False
    [openai] = config_with(llm={"provider": "openai", "base_url": "http://llm/v1"}).channels
    assert chat_rules(openai).speech_recognition is True


def test_an_empty_whitelist_is_said_once():
    notes = notes_for(group_name_white_list=[], speech_recognition=False)
    assert notes == [
        "group_name_white_list is empty: no group message will be answered "
        '(list group names, or "ALL_GROUP" for every group)'
    ]


def test_a_missing_ffmpeg_is_reported_only_when_voice_is_transcribed():
    speech = {"provider": "openai", "base_url": "http://asr/v1"}
    config = config_with(speech=speech)
    assert "no ffmpeg" in startup_notes(config, lambda: "no ffmpeg found")[-1]
    assert "no ffmpeg" not in notes_for("no ffmpeg found")[-1]
    assert notes_for("no ffmpeg found", speech_recognition=False) == []


@pytest.mark.parametrize(
    "models",
    [
        None,
        {"llm": {"provider": "echo"}},
        {"llm": {"provider": "openai", "base_url": "http://llm/v1"}},
        {"llm": {"provider": "openai"}, "speech": {"provider": "none"}},
        {"llm": {"provider": "echo"}, "speech": {"provider": "openai", "base_url": "http://a"}},
    ],
)
def test_the_sandbox_turns_voice_on_exactly_when_the_service_can_transcribe(models):
    keys = SandboxKeys.fresh(SAMPLE_CORP)
    raw = service_config(SAMPLE_CORP, keys, 5001, "http://127.0.0.1:5002", models)
    config, _ = parse_config(raw, {})
    apps = [channel for channel in config.channels if isinstance(channel, AppChannelSettings)]
    assert {channel.hears_voice for channel in apps} == {config.wecom.speech_recognition}
    assert not any("speech_recognition" in note for note in startup_notes(config, lambda: None))
