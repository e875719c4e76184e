from dataclasses import replace

from domain.events import (
    FeedbackGiven,
    FileRead,
    ImageComposed,
    ModelUsed,
    NoticeComposed,
    PictureSeen,
    VoiceTranscribed,
)
from domain.messages import PICTURE, Attachment
from domain.redaction import content_removed, without_content
from domain.usage import Usage
from tests.support.events import answered, received, text_message, used

MESSAGE = replace(text_message("我的工资是多少？", "1"), response_url="https://example.test/r")


def fields(message, event_type, **values):
    return event_type(
        stream_id=message.dedup_key, version=2, conversation_id=message.conversation_id, **values
    )


def test_what_was_said_and_answered_is_removed_and_the_facts_stay():
    stripped = without_content(received(MESSAGE))
    assert (stripped.message.content, stripped.message.response_url) == ("", "")
    assert (stripped.message.from_user, stripped.message.msg_id) == ("zhangsan", "1")

    answer = replace(answered(MESSAGE, "一万"), parts=("一", "万"))
    removed = without_content(answer)
    assert (removed.text, removed.prompt, removed.answer, removed.parts) == ("", "", "", ("", ""))
    assert content_removed(removed) and not content_removed(answer)


def test_transcripts_notices_and_picture_prompts_lose_their_words_not_their_media():
    heard = fields(MESSAGE, VoiceTranscribed, transcript="你好")
    assert without_content(heard).transcript == ""
    notice = fields(MESSAGE, NoticeComposed, to_user="zhangsan", text="@张三 帮助", parts=("x",),
                    reason="help")
    assert (without_content(notice).text, without_content(notice).parts) == ("", ("",))
    picture = fields(MESSAGE, ImageComposed, to_user="zhangsan", text="", parts=("media-1",),
                     prompt="一只猫")
    assert (without_content(picture).prompt, without_content(picture).parts) == ("", ("media-1",))


def test_events_without_content_or_already_stripped_are_left_alone():
    cost = used(MESSAGE, Usage(1, 2))
    assert isinstance(cost, ModelUsed) and without_content(cost) is None
    assert without_content(without_content(received(MESSAGE))) is None


def test_a_rating_stays_and_what_the_member_wrote_with_it_goes():
    rated = fields(MESSAGE, FeedbackGiven, from_user="zhangsan", rating="bad", comment="工资不对")
    stripped = without_content(rated)
    assert (stripped.rating, stripped.from_user, stripped.comment) == ("bad", "zhangsan", "")
    assert without_content(stripped) is None


def test_pictures_files_and_quotes_lose_their_content_and_where_they_came_from():
    sent = replace(
        MESSAGE, msg_type="mixed", quote="去年的合同",
        attachments=(Attachment(PICTURE, "https://wecom.example/p?sign=1", aeskey="K" * 43),),
    )
    stripped = without_content(received(sent)).message
    assert (stripped.content, stripped.quote, stripped.attachments) == ("", "", ())
    seen = fields(sent, PictureSeen, digest="d" * 64, media_type="image/jpeg", width=1, height=1)
    assert without_content(seen).digest == "" and without_content(without_content(seen)) is None
    read = fields(sent, FileRead, name="工资单.xlsx", sha256="e" * 64, size=10, text="一万")
    assert (without_content(read).name, without_content(read).text) == ("", "")
    assert without_content(read).sha256 == "e" * 64  # a fact: which file, not what it says
