from dataclasses import replace

import pytest

from domain.events import ReplyDelivered, ReplyPartSent
from domain.message_progress import MessageProgress, VersionGap
from tests.support.events import answered, received, text_message


def test_a_message_is_deduplicated_on_its_msg_id():
    first = text_message("hi", msg_id="123")
    retry = replace(first, create_time=first.create_time + 5)
    assert first.dedup_key == retry.dedup_key
    assert first.dedup_key != text_message("hi", msg_id="124").dedup_key


def test_an_event_is_deduplicated_on_sender_and_create_time():
    event = replace(text_message(""), msg_type="event", msg_id="", event="enter_agent")
    assert event.dedup_key == replace(event, event="click").dedup_key
    assert event.dedup_key != replace(event, create_time=event.create_time + 1).dedup_key


def test_private_and_group_conversations_are_distinct():
    private = text_message("hi", user="alice")
    group = replace(private, chat_id="chat1")
    assert private.conversation_id != group.conversation_id
    assert group.conversation_id == replace(group, from_user="bob").conversation_id


def test_progress_knows_which_parts_are_still_to_send():
    message = text_message("hi")
    reply = replace(answered(message, "AB"), parts=("A", "B"))
    progress = MessageProgress.from_events([received(message), reply])
    progress.record(ReplyPartSent, index=0)
    assert progress.unsent_parts() == [(1, "B")]
    assert not progress.settled
    progress.record(ReplyPartSent, index=1)
    progress.record(ReplyDelivered)
    assert progress.settled and progress.unsent_parts() == []


def test_a_gap_in_versions_is_refused():
    message = text_message("hi")
    with pytest.raises(VersionGap):
        MessageProgress.from_events([received(message), answered(message, "x", version=3)])


def test_a_stream_must_start_with_the_message():
    with pytest.raises(VersionGap):
        MessageProgress().record(ReplyDelivered)
