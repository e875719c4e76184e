"""Events to JSON and back. Columns hold what the store queries by; `data` the rest."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any, get_type_hints

from domain.events import EVENT_TYPES, Event
from domain.messages import Attachment, InboundMessage

_COLUMN_FIELDS = ("stream_id", "version", "conversation_id", "occurred_at")


def to_row(event: Event) -> dict[str, Any]:
    data = {
        field.name: getattr(event, field.name)
        for field in dataclasses.fields(event)
        if field.name not in _COLUMN_FIELDS
    }
    return {
        "stream_id": event.stream_id,
        "version": event.version,
        "conversation_id": event.conversation_id,
        "occurred_at": event.occurred_at,
        "event_type": type(event).__name__,
        "schema_version": event.schema_version,
        "data": json.dumps(data, ensure_ascii=False, default=_encode),
    }


def from_row(row: Any) -> Event:
    event_type = EVENT_TYPES[row.event_type]
    hints = _hints(event_type)
    data = {name: _decode(hints[name], value) for name, value in json.loads(row.data).items()}
    return event_type(
        stream_id=row.stream_id,
        version=row.version,
        conversation_id=row.conversation_id,
        occurred_at=row.occurred_at,
        **data,
    )


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot store {type(value).__name__} in an event")


# Messages recorded before there were several channels name only their kind.
_CHANNELS_BEFORE_NAMES = {"app": "app:default", "aibot": "aibot:default"}


def _decode(hint: Any, value: Any) -> Any:
    if hint is InboundMessage:
        channel = value.get("channel", "app")
        attachments = tuple(Attachment(**item) for item in value.get("attachments", ()))
        return InboundMessage(
            **{
                **value,
                "channel": _CHANNELS_BEFORE_NAMES.get(channel, channel),
                "attachments": attachments,
            }
        )
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return hint(**value)
    if isinstance(value, list):
        return tuple(value)
    return value


@cache
def _hints(event_type: type[Event]) -> dict[str, Any]:
    return get_type_hints(event_type)
