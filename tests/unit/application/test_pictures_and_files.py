"""Pictures (app and AI bot), files and quotes (AI bot) through the use cases with fakes: what
the model is shown, what is recorded, what a member is told when one cannot be used."""

from __future__ import annotations

import time
from dataclasses import replace

from application.pipeline.conversation_scheduler import SchedulerSettings
from application.pipeline.sender_rate_limiter import SenderRateLimiter
from application.ports.models import ImagePart
from domain import notices
from domain.messages import FILE, PICTURE, Attachment, InboundMessage
from domain.policy import ChatRules
from domain.rate_limit import RateLimit
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.fakes.aibot import FakeAiBotResponseUrl
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.media import NOT_A_PICTURE, FakeAiBotMedia, FakeTextExtractor
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import text_message
from tests.unit.application.conftest import FakeClock, Service, with_fakes

SEEING = ChatRules(image_understanding=True)
BOT = "aibot:default"


def picture(msg_id: str, media_id: str, user: str = "zhangsan") -> InboundMessage:
    message = replace(text_message("", msg_id, user), msg_type="image", media_id=media_id)
    return replace(message, attachments=(Attachment(PICTURE, media_id),))


def app_service(rules: ChatRules = SEEING, **media: bytes) -> Service:
    return Service(rules=rules, wecom=FakeWeComGateway(media=media))


def pictures_shown(messages) -> list[list[str]]:
    """The data URLs each user message showed, in order."""
    return [[image.url for image in m.images] for m in messages if m.role == "user"]


def notice_reasons(store) -> list[str]:
    return [e.reason for e in store.log if type(e).__name__ == "NoticeComposed"]


async def test_an_app_picture_reaches_the_model_as_an_image_part_with_the_image_prompt():
    service = app_service(PIC1=b"\x89PNG picture one")
    await service.say(picture("1", "PIC1"))

    [(messages, _)] = service.model.calls
    question = messages[-1]
    assert question.text == notices.IMAGE_PROMPT
    [image] = question.images
    assert image == ImagePart("data:image/png;base64,iVBORyBwaWN0dXJlIG9uZQ==")
    assert service.replies_to("zhangsan") == [f"answer to: {notices.IMAGE_PROMPT}"]
    assert service.event_types(picture("1", "PIC1")) == [
        "MessageReceived", "PictureSeen", "ModelUsed", "AnswerComposed", "ReplyPartSent",
        "ReplyDelivered",
    ]


async def test_the_picture_is_kept_outside_the_events_and_shown_again_for_a_follow_up():
    service = app_service(PIC1=b"\x89PNG a stack trace")
    await service.say(picture("1", "PIC1"))
    await service.say(text_message("上面那个报错怎么解决？", "2"))

    [seen] = [e for e in service.store.log if type(e).__name__ == "PictureSeen"]
    blobs = service.container.blob_store()
    assert (await blobs.get(seen.digest)).data == b"\x89PNG a stack trace"
    assert "a stack trace" not in repr(service.store.log)  # no bytes in any event
    follow_up, _ = service.model.calls[-1]
    assert [m.role for m in follow_up] == ["system", "user", "assistant", "user"]
    assert len(pictures_shown(follow_up)[0]) == 1 and pictures_shown(follow_up)[1] == []
    assert follow_up[-1].text == "上面那个报错怎么解决？"


async def test_at_most_max_prompt_images_are_shown_and_the_oldest_are_dropped_first():
    service = app_service(
        replace(SEEING, max_prompt_images=2), A=b"\x89PNG a", B=b"\x89PNG b", C=b"\x89PNG c"
    )
    for msg_id, media_id in (("1", "A"), ("2", "B"), ("3", "C")):
        await service.say(picture(msg_id, media_id))
    await service.say(text_message("哪张最好看？", "4"))

    last, _ = service.model.calls[-1]
    assert [len(urls) for urls in pictures_shown(last)] == [0, 1, 1, 0]
    assert [m.text for m in last if m.role == "user"][0] == notices.IMAGE_PROMPT


async def test_a_picture_read_before_a_crash_is_not_fetched_again_when_handled_again():
    service = app_service(PIC1=b"\x89PNG once")
    answer = service.model.complete
    crashes = ["the worker died"]

    async def crash_once(messages, max_tokens):
        if crashes:
            raise RuntimeError(crashes.pop())
        return await answer(messages, max_tokens)

    service.model.complete = crash_once
    await service.say(picture("1", "PIC1"))  # the handler fails: the message stays pending
    await service.handle(picture("1", "PIC1").dedup_key)

    assert service.container.picture_reader().prepared == [b"\x89PNG once"]
    assert service.replies_to("zhangsan") == [f"answer to: {notices.IMAGE_PROMPT}"]


async def test_without_image_understanding_a_picture_gets_the_plain_notice_and_no_fetch():
    service = app_service(ChatRules(), PIC1=b"\x89PNG")
    await service.say(picture("1", "PIC1"))
    assert service.replies_to("zhangsan") == [notices.UNSUPPORTED]
    assert service.model.calls == []


async def test_a_corrupt_picture_gets_a_clear_reply_and_the_next_message_is_answered():
    service = app_service(BAD=NOT_A_PICTURE + b"...")
    await service.say(picture("1", "BAD"))
    await service.say(text_message("你好", "2"))

    assert service.replies_to("zhangsan") == [
        notices.attachment_failed(notices.UNREADABLE), "answer to: 你好",
    ]
    assert notice_reasons(service.store) == ["attachment: not a picture (fake)"]


async def test_a_picture_whose_media_id_expired_or_is_too_large_is_told_so():
    service = app_service(replace(SEEING, max_image_bytes=10), BIG=b"\x89PNG" + b"x" * 20)
    await service.say(picture("1", "GONE"))
    await service.say(picture("2", "BIG"))
    assert service.replies_to("zhangsan") == [
        notices.attachment_failed(notices.UNAVAILABLE),
        notices.attachment_failed(notices.TOO_LARGE, 10),
    ]
    assert service.model.calls == []


async def test_a_picture_counts_against_the_senders_model_budget_before_it_is_fetched():
    clock = FakeClock()
    limiter = SenderRateLimiter(RateLimit(1, 60))
    wecom = FakeWeComGateway(media={"A": b"\x89PNG a", "B": b"\x89PNG b"})
    service = Service(rules=SEEING, wecom=wecom, clock=clock, rate_limiter=limiter)
    await service.say(picture("1", "A"))
    await service.say(picture("2", "B"))
    assert len(service.model.calls) == 1
    assert service.container.picture_reader().prepared == [b"\x89PNG a"]
    assert notice_reasons(service.store) == ["rate limited"]


# --- the AI bot: pictures and files by URL, quotes --------------------------------------------


class BotService:
    """One AI bot wired by the container with fakes; its downloads are `media`'s."""

    def __init__(self, media: FakeAiBotMedia, extractor: FakeTextExtractor | None = None,
                 **rules):
        bot = {"enabled": True, "token": "BotToken", "aes_key": "b" * 43}
        wecom = {"rate_limit": None, "aibot": bot, "image_understanding": True,
                 "file_understanding": True, **rules}
        config = parse_config({"services": {"weworktop": wecom}, "llm": {"provider": "echo"}},
                              {})[0]
        self.store = InMemoryEventStore()
        self.model = FakeChatModel()
        container = Container(config=config)
        with_fakes(container, self.store, InMemoryLeaseStore(), self.model,
                   FakeWeComGateway(), FakeClock(time.time()), "p1", SchedulerSettings())
        container.aibot_response_url.override(FakeAiBotResponseUrl())
        if extractor is not None:
            container.text_extractor.override(extractor)
        channel = container.channel_containers()[BOT]
        channel.media.override(media)
        self.media = media
        self.scheduler = container.scheduler()
        self.accept = channel.accept()
        self.refresh = channel.callback()._refresh

    async def say(self, message: InboundMessage) -> str:
        """The reply, as WeCom's refresh of the message's stream shows it when finished."""
        await self.accept(message)
        await self.scheduler.idle()
        reply = await self.refresh(message.msg_id)
        await self.scheduler.idle()  # the refresh settled the message: the next may go
        return reply.content


def bot_message(msg_type: str, msg_id: str, content: str = "", *items: Attachment,
                quote: str = "") -> InboundMessage:
    return InboundMessage(
        msg_type=msg_type, from_user="zhangsan", create_time=1_700_000_000, agent_id=0,
        msg_id=msg_id, content=content, channel=BOT, attachments=items, quote=quote,
    )


CONTRACT = "第一条：甲方付款。\n第二条：乙方交货。\n第三条：逾期每日罚款千分之一。"


async def test_a_bot_file_is_read_once_and_its_text_answers_a_follow_up():
    media = FakeAiBotMedia({"https://wecom.example/f1": CONTRACT.encode()},
                           names={"https://wecom.example/f1": "合同.txt"})
    bot = BotService(media, FakeTextExtractor())
    item = Attachment(FILE, "https://wecom.example/f1", aeskey="K1")
    await bot.say(bot_message("file", "F1", "", item))
    await bot.say(bot_message("text", "F2", "第三条是什么意思？"))

    [read] = [e for e in bot.store.log if type(e).__name__ == "FileRead"]
    assert (read.name, read.size, read.text) == ("合同.txt", len(CONTRACT.encode()), CONTRACT)
    assert media.downloads == [("https://wecom.example/f1", "K1")]
    first, _ = bot.model.calls[0]
    assert "第三条：逾期每日罚款千分之一" in first[-1].text
    assert first[-1].text.endswith(notices.FILE_PROMPT)
    follow_up, _ = bot.model.calls[1]
    assert "第三条：逾期每日罚款千分之一" in follow_up[-3].text  # the file's turn, remembered
    assert follow_up[-1].text == "第三条是什么意思？"


async def test_a_long_file_is_cut_to_half_the_budget_with_a_note_of_what_was_left_out():
    long_text = "合同条款。" * 4000
    media = FakeAiBotMedia({"u": long_text.encode()})
    bot = BotService(media, FakeTextExtractor(left_out="pages 201 to 10000"),
                     conversation_max_tokens=1000)
    await bot.say(bot_message("file", "F1", "", Attachment(FILE, "u", name="big.pdf")))

    [read] = [e for e in bot.store.log if type(e).__name__ == "FileRead"]
    assert len(read.text) < 700 and "left out" in read.text
    assert "pages 201 to 10000" in read.text and "characters" in read.text


async def test_a_file_without_text_an_unsupported_one_and_an_expired_url_get_plain_replies():
    media = FakeAiBotMedia({"scan": b"%PDF", "zip": b"PK"})
    extractor = FakeTextExtractor({"scan.pdf": notices.NO_TEXT, "a.rar": notices.UNSUPPORTED_FILE})
    bot = BotService(media, extractor)
    replies = [
        await bot.say(bot_message("file", "1", "", Attachment(FILE, "scan", name="scan.pdf"))),
        await bot.say(bot_message("file", "2", "", Attachment(FILE, "zip", name="a.rar"))),
        await bot.say(bot_message("file", "3", "", Attachment(FILE, "expired", name="b.pdf"))),
    ]
    assert replies == [
        notices.attachment_failed(notices.NO_TEXT),
        notices.attachment_failed(notices.UNSUPPORTED_FILE),
        notices.attachment_failed(notices.UNAVAILABLE),
    ]
    assert bot.model.calls == []


async def test_a_bot_picture_in_a_mixed_message_is_shown_with_the_members_words():
    media = FakeAiBotMedia({"p": b"\x89PNG whiteboard"})
    bot = BotService(media)
    await bot.say(bot_message("mixed", "1", "这张白板上写了什么？", Attachment(PICTURE, "p")))

    [(messages, _)] = bot.model.calls
    assert messages[-1].text == "这张白板上写了什么？" and len(messages[-1].images) == 1
    assert media.downloads == [("p", "")]  # callback mode: the bot's own key decrypts it


async def test_a_quote_reaches_the_prompt_as_context_and_a_quoted_picture_is_shown():
    media = FakeAiBotMedia({"q": b"\x89PNG chart"})
    bot = BotService(media)
    await bot.say(bot_message("text", "1", "这个数字对吗？", quote="三季度营收 1.2 亿"))
    await bot.say(bot_message("text", "2", "图里最高的是哪个？",
                              Attachment(PICTURE, "q", quoted=True)))

    quoted_text, _ = bot.model.calls[0]
    assert "三季度营收 1.2 亿" in quoted_text[-1].text
    assert quoted_text[-1].text.endswith("这个数字对吗？")
    quoted_picture, _ = bot.model.calls[1]
    assert len(quoted_picture[-1].images) == 1


async def test_bot_pictures_are_not_fetched_when_image_understanding_is_off():
    media = FakeAiBotMedia({"p": b"\x89PNG"})
    bot = BotService(media, image_understanding=False)
    reply = await bot.say(bot_message("image", "1", "", Attachment(PICTURE, "p")))
    assert reply == notices.UNSUPPORTED and media.downloads == []
