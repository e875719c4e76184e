"""What an operator should know at start-up about how the configuration will behave, said
once, before the first message shows it the hard way."""

from __future__ import annotations

from collections.abc import Callable

from infrastructure.channel_settings import AppChannelSettings
from infrastructure.config import AppConfig


def startup_notes(config: AppConfig, ffmpeg_warning: Callable[[], str | None]) -> list[str]:
    notes = []
    transcribing = False
    for channel in config.channels:
        # With one channel, its name would only be noise.
        where = f"{channel.id}: " if len(config.channels) > 1 else ""
        rules = channel.rules
        if not rules.group_name_white_list:
            notes.append(
                f"{where}group_name_white_list is empty: no group message will be answered "
                '(list group names, or "ALL_GROUP" for every group)'
            )
        if not isinstance(channel, AppChannelSettings):
            notes += [f"{where}{note}" for note in _bot_department_notes(rules)]
        # An AI bot's voice arrives transcribed by WeCom: the setting is the app's alone.
        if rules.speech_recognition and isinstance(channel, AppChannelSettings):
            transcribing = transcribing or channel.hears_voice
            if not channel.hears_voice:
                notes.append(
                    f"{where}speech_recognition is on but there is no speech-to-text service: "
                    "voice messages will get a 'voice is off' reply; set a `speech` section to "
                    "transcribe them"
                )
    warning = ffmpeg_warning() if transcribing else None
    if warning:
        notes.append(warning)
    return notes


def _bot_department_notes(rules) -> list[str]:
    """An AI bot has no WeCom directory to look departments up in: department lists cannot
    admit anyone to it, a deny list refuses everyone (access fails closed), and a
    department's quota counts nothing."""
    access, notes = rules.access, []
    if access.allow_departments or access.deny_departments:
        note = (
            "access lists departments, but an AI bot cannot look members' departments up: "
            "only access.allow_users admits anyone to it"
        )
        if access.deny_departments:
            note += ", and access.deny_departments refuses every member"
        notes.append(note)
    if rules.quota.department_tokens_per_month:
        notes.append(
            "quota.department_tokens_per_month does not apply to an AI bot, which cannot look "
            "members' departments up (member_tokens_per_day does)"
        )
    return notes
