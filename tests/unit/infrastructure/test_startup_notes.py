import copy

from infrastructure.config import parse_config
from infrastructure.startup_notes import startup_notes
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE


def notes_for(ffmpeg_warning=None, **changes) -> list[str]:
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"].update(changes)
    config, _ = parse_config(raw, {})
    return startup_notes(config, lambda: ffmpeg_warning)


def test_the_products_example_warns_that_voice_has_no_server_when_the_model_is_offline():
    [note] = notes_for()
    assert "speech_recognition is on" in note


def test_an_empty_whitelist_is_said_once():
    notes = notes_for(group_name_white_list=[], speech_recognition=False)
    assert notes == [
        "group_name_white_list is empty: no group message will be answered "
        '(list group names, or "ALL_GROUP" for every group)'
    ]


def test_a_missing_ffmpeg_is_reported_only_when_voice_is_on():
    assert "no ffmpeg" in notes_for("no ffmpeg found")[-1]
    assert notes_for("no ffmpeg found", speech_recognition=False) == []
