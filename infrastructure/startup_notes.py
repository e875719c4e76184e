"""What an operator should know at start-up about how the configuration will behave, said
once, before the first message shows it the hard way."""

from __future__ import annotations

from collections.abc import Callable

from infrastructure.config import AppConfig


def startup_notes(config: AppConfig, ffmpeg_warning: Callable[[], str | None]) -> list[str]:
    wecom = config.wecom
    notes = []
    if not wecom.group_name_white_list:
        notes.append(
            "group_name_white_list is empty: no group message will be answered "
            '(list group names, or "ALL_GROUP" for every group)'
        )
    if wecom.speech_recognition:
        if config.speech_endpoint.provider == "none":
            notes.append(
                "speech_recognition is on but no speech-to-text service is configured "
                '(llm.provider "openai", or a "speech" section): voice messages get a reply '
                "saying voice is not working"
            )
        warning = ffmpeg_warning()
        if warning:
            notes.append(warning)
    return notes
