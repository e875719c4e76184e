"""Where a message stands, read from its events: what the operator's view and the sandbox show
as "answered", "not answered because …" or "failed because …"."""

from __future__ import annotations

from dataclasses import replace

from domain.events import (
    DeliveryFailed,
    DeliveryPostponed,
    FeedbackGiven,
    ImageComposed,
    MessageIgnored,
    NoticeComposed,
    ReplyDelivered,
    ReplyPartSent,
)
from domain.message_outcome import outcome
from tests.support.events import answered, received, text_message

MESSAGE = text_message("你好")


def follow(*events):
    """`received` then `events`, numbered as the stream would number them."""
    stream = [received(MESSAGE)]
    for make in events:
        stream.append(make(len(stream) + 1))
    return stream


def base(version: int) -> dict:
    return {
        "stream_id": MESSAGE.dedup_key,
        "version": version,
        "conversation_id": MESSAGE.conversation_id,
    }


def two_part_answer(version):
    return replace(answered(MESSAGE, "一。二。", version=version), parts=("一。", "二。"))


def test_a_message_nobody_decided_on_yet_is_waiting():
    result = outcome(follow())
    assert (result.status, result.settled) == ("waiting", False)


def test_an_ignored_message_says_why():
    result = outcome(follow(lambda v: MessageIgnored(**base(v), reason="no prefix")))
    assert (result.status, result.why, result.settled) == ("ignored", "no prefix", True)


def test_an_answer_sent_in_two_parts():
    result = outcome(
        follow(
            two_part_answer,
            lambda v: ReplyPartSent(**base(v), index=0),
            lambda v: ReplyPartSent(**base(v), index=1),
            lambda v: ReplyDelivered(**base(v)),
        )
    )
    assert (result.status, result.reply, result.parts, result.sent_parts) == (
        "answered", "answer", 2, 2,
    )


def test_half_sent_then_postponed_then_failed_with_the_last_reason():
    postponed = follow(
        two_part_answer,
        lambda v: ReplyPartSent(**base(v), index=0),
        lambda v: DeliveryPostponed(**base(v), index=1, reason="WeCom is busy", retry_at=9.0),
    )
    assert (outcome(postponed).status, outcome(postponed).why) == ("postponed", "WeCom is busy")
    assert outcome(postponed).sent_parts == 1
    failed = [*postponed, DeliveryFailed(**base(5), index=1, reason="gave up", errcode=-1)]
    assert (outcome(failed).status, outcome(failed).why) == ("failed", "gave up")


def test_a_retry_that_went_through_is_sending_again_not_postponed():
    stream = follow(
        two_part_answer,
        lambda v: DeliveryPostponed(**base(v), index=0, reason="busy", retry_at=9.0),
        lambda v: ReplyPartSent(**base(v), index=0),
    )
    assert (outcome(stream).status, outcome(stream).why) == ("sending", "")


def test_a_notice_or_a_picture_is_named_as_such():
    notice = follow(
        lambda v: NoticeComposed(
            **base(v), to_user="zhangsan", text="语音不行", parts=("语音不行",), reason="speech: x"
        ),
        lambda v: ReplyPartSent(**base(v), index=0),
        lambda v: ReplyDelivered(**base(v)),
    )
    assert (outcome(notice).status, outcome(notice).reply, outcome(notice).why) == (
        "answered", "notice", "speech: x",
    )
    picture = follow(
        lambda v: ImageComposed(**base(v), to_user="zhangsan", text="", parts=("m1",), prompt="猫")
    )
    assert (outcome(picture).status, outcome(picture).reply) == ("sending", "image")


def test_feedback_after_the_answer_leaves_it_answered():
    result = outcome(
        follow(
            lambda v: answered(MESSAGE, "答", version=v),
            lambda v: ReplyPartSent(**base(v), index=0),
            lambda v: ReplyDelivered(**base(v)),
            lambda v: FeedbackGiven(**base(v), from_user="zhangsan", rating="good"),
        )
    )
    assert (result.status, result.settled) == ("answered", True)
