"""The real service with pictures, files and quotes, between the WeCom emulator (an app's
media/get, an AI bot's encrypted downloads) and the OpenAI stand-in: what the model is shown,
what members are answered, markdown for the app that asks for it, and every hostile picture
or file of the issue answered plainly in bounded time, with the next message not held up."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from domain import notices
from tests.standins.openai_standin import OpenAIStandIn, image_urls, text_of
from tests.support import documents
from tests.support.aibot_caller import AiBotCaller
from tests.support.aibot_signing import AiBotPeer, text_payload
from tests.support.e2e import CallbackKeys, WeComSender, random_key, service_config
from tests.support.images import picture
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator
from wecom_emulator.aibot_media import bot_key
from wecom_emulator.callbacks import signed_callback, text_message_xml

USER = "zhangsan"
MARKDOWN_AGENT = 1000009
CODE = "```python\n" + "\n".join(f"print('step {n}')" for n in range(120)) + "\n```"
CONTRACT = ["第一条：甲方在收货后三十日内付款。", "第二条：乙方于五月交货。",
            "第三条：逾期交货每日按合同金额千分之一支付违约金。"]


def reply_for(body: dict) -> str:
    """Names what the model was shown: the question (the last line it was asked), and how
    many pictures came with the whole conversation."""
    said = text_of(body["messages"][-1]).strip().splitlines()[-1]
    pictures = sum(len(image_urls(m)) for m in body["messages"])
    if said == "给我一段代码":
        return f"## 代码\n\n{CODE}\n\n- 第一点\n- 第二点"
    return f"answer to: {said} (pictures: {pictures})"


class World:
    def __init__(self, service, wecom, model, sender, bot, markdown_keys, wecom_url, bot_aes):
        self.service, self.wecom, self.model = service, wecom, model
        self.sender, self.bot, self.markdown_keys = sender, bot, markdown_keys
        self.wecom_url, self.bot_aes = wecom_url, bot_aes

    def post(self, params_body) -> None:
        assert self.sender.post(self.service.base_url, *params_body).status_code == 200

    def bot_item(self, data: bytes, filename: str = "", **kinds) -> str:
        """The URL of a picture or file a member sent the bot (encrypted with its key)."""
        item = self.wecom.add_aibot_media(data, bot_key(self.bot_aes), filename, **kinds)
        return self.wecom_url + item.url_path

    def ask_bot(self, msg_id: str, **message) -> tuple[str, float]:
        """The bot's final answer to a private message, and how long it took."""
        payload = {**text_payload(msg_id, ""), **message}
        started = time.perf_counter()
        self.bot.send(payload)
        final = self.bot.follow(msg_id, timeout=60)[-1]
        return final, time.perf_counter() - started

    def service_peak_mb(self) -> float:
        status = Path(f"/proc/{self.service._process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    wecom = WeComEmulator(known_users={USER})
    markdown_app = wecom.add_app(MARKDOWN_AGENT)
    model = OpenAIStandIn(reply=reply_for)
    keys, markdown_keys = CallbackKeys(), CallbackKeys()
    bot_token, bot_aes = random_key(32), random_key(43)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        config = service_config(
            wecom, wecom_url, keys, f"sqlite:///{tmp_path_factory.mktemp('db')}/events.db",
            llm={"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in",
                 "vision_model": "stand-in-vl"},
            image_understanding=True,
            file_understanding=True,
            aibot={"enabled": True, "token": bot_token, "aes_key": bot_aes},
            apps=[{
                "name": "md", "agent_id": MARKDOWN_AGENT, "corp_secret": markdown_app.corp_secret,
                "token": markdown_keys.token, "aes_key": markdown_keys.aes_key,
                "reply_format": "markdown",
            }],
        )
        config["media"] = {"download_seconds": 2, "extract_seconds": 60}
        service = ServiceProcess(config, tmp_path_factory.mktemp("service"))
        service.start()
        bot = AiBotCaller(AiBotPeer(bot_token, bot_aes), f"{service.base_url}/wework_aibot")
        yield World(service, wecom, model, WeComSender(wecom, keys), bot, markdown_keys,
                    wecom_url, bot_aes)
        service.stop()


def test_an_app_picture_reaches_the_vision_model_as_an_image_url_part(world, figures):
    photo = picture((1200, 900), (200, 40, 40), fmt="JPEG")
    world.wecom.add_media("PHOTO1", photo)
    world.post(world.sender.image_callback(USER, "PHOTO1", 101))
    wait_until(lambda: world.wecom.contents_for(USER), timeout=20, what="the answer")

    request = world.model.requests[-1]
    [url] = image_urls(request["messages"][-1])
    assert request["model"] == "stand-in-vl" and url.startswith("data:image/jpeg;base64,")
    assert text_of(request["messages"][-1]) == notices.IMAGE_PROMPT
    assert world.wecom.contents_for(USER) == [
        f"answer to: {notices.IMAGE_PROMPT.splitlines()[-1]} (pictures: 1)"
    ]
    shown = base64.b64decode(url.partition(",")[2])
    figures(f"a {len(photo):,}-byte 1200x900 photo reached the model as {len(shown):,} bytes")


def test_a_follow_up_question_is_asked_with_the_picture_again(world):
    before = len(world.wecom.contents_for(USER))
    world.post(world.sender.callback(USER, "上面那个报错怎么解决？", 102))
    wait_until(lambda: len(world.wecom.contents_for(USER)) > before, timeout=20,
               what="the follow-up answer")

    request = world.model.requests[-1]
    assert request["model"] == "stand-in-vl"
    assert [len(image_urls(m)) for m in request["messages"] if m["role"] == "user"] == [1, 0]
    assert world.wecom.contents_for(USER)[-1] == "answer to: 上面那个报错怎么解决？ (pictures: 1)"


def test_a_bot_file_encrypted_as_wecom_does_is_read_and_a_question_about_it_answered(
    world, figures
):
    url = world.bot_item(documents.docx_file(CONTRACT), "合同.docx")
    answer, seconds = world.ask_bot("FILE-1", msgtype="file", file={"url": url})
    assert answer == f"answer to: {notices.FILE_PROMPT} (pictures: 0)"
    read = text_of(world.model.requests[-1]["messages"][-1])
    assert "文件 / File「合同.docx」" in read and CONTRACT[2] in read

    follow_up, _ = world.ask_bot("FILE-2", text={"content": "第三条是什么意思？"})
    assert follow_up == "answer to: 第三条是什么意思？ (pictures: 0)"
    history = [text_of(m) for m in world.model.requests[-1]["messages"]]
    assert any(CONTRACT[2] in said for said in history[:-1])
    figures(f"a DOCX from the bot downloaded, decrypted, read and answered in {seconds:.2f} s")


def test_a_quote_reaches_the_prompt(world):
    quote = {"msgtype": "text", "text": {"content": "三季度营收 1.2 亿元"}}
    answer, _ = world.ask_bot("QUOTE-1", text={"content": "这个数字对吗？"}, quote=quote)
    assert answer == "answer to: 这个数字对吗？ (pictures: 0)"
    asked = text_of(world.model.requests[-1]["messages"][-1])
    assert "三季度营收 1.2 亿元" in asked and asked.endswith("这个数字对吗？")


def test_the_markdown_app_sends_markdown_messages_split_safely(world, figures):
    crypto = WeComCrypto(world.markdown_keys.token, world.markdown_keys.aes_key,
                         world.wecom.corp_id)
    xml = text_message_xml(world.wecom.corp_id, USER, "给我一段代码", 201, MARKDOWN_AGENT)
    params, body = signed_callback(crypto, xml)
    sender = WeComSender(world.wecom, world.markdown_keys, "/wework_callback/md")
    assert sender.post(world.service.base_url, params, body).status_code == 200

    def markdown_sent():
        return [m for m in world.wecom.sent if m.agentid == MARKDOWN_AGENT]

    wait_until(lambda: len(markdown_sent()) >= 2 and "第二点" in markdown_sent()[-1].content,
               timeout=20, what="the markdown parts")
    parts = markdown_sent()
    assert {m.msgtype for m in parts} == {"markdown"}
    assert all(len(m.content.encode()) <= 2048 for m in parts)
    assert all(m.content.count("```") % 2 == 0 for m in parts)
    assert parts[0].content.startswith("## 代码")
    figures(f"a {len(CODE):,}-character code answer sent as {len(parts)} markdown messages")


HOSTILE = {
    "a corrupt picture": ("image", picture((400, 300))[:500], "x.png", {},
                          notices.attachment_failed(notices.UNREADABLE)),
    "a zip bomb": ("file", documents.zip_bomb_docx(200_000_000), "bomb.docx", {},
                   notices.attachment_failed(notices.TOO_LARGE)),
    "a download that never ends": ("image", b"", "", {"trickle": True},
                                   notices.attachment_failed(notices.UNAVAILABLE)),
    "an encrypted PDF": ("file", documents.encrypted_pdf(["secret"]), "locked.pdf", {},
                         notices.attachment_failed(notices.ENCRYPTED)),
    "a scanned PDF": ("file", documents.pdf(["", ""]), "scan.pdf", {},
                      notices.attachment_failed(notices.NO_TEXT)),
    "an unsupported type": ("file", b"Rar!\x1a\x07\x00" + bytes(64), "a.rar", {},
                            notices.attachment_failed(notices.UNSUPPORTED_FILE)),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_picture_or_file_gets_a_plain_reply_and_the_next_message_goes_on(
    world, figures, case
):
    kind, data, filename, served_as, told = HOSTILE[case]
    url = world.bot_item(data, filename, **served_as)
    msg_id = f"HOSTILE-{abs(hash(case))}"
    answer, seconds = world.ask_bot(msg_id, msgtype=kind, **{kind: {"url": url}})
    after, next_seconds = world.ask_bot(f"{msg_id}-next", text={"content": "还在吗？"})

    assert answer == told
    assert after == "answer to: 还在吗？ (pictures: 0)" and next_seconds < 5
    assert "attachment of aibot:default/msg:" + msg_id in world.service.log()
    assert url.split("?")[1] not in world.service.log()  # the URL's signature
    figures(f"{case}: told in {seconds:.2f} s; the next message answered in {next_seconds:.2f} s;"
            f" service peak RSS {world.service_peak_mb():.0f} MB")


def test_an_aeskey_that_does_not_decrypt_gets_a_plain_reply(world):
    item = world.wecom.add_aibot_media(b"\x89PNG not for this key")
    wrong = base64.b64encode(bytes(32)).decode()
    answer, _ = world.ask_bot("WRONG-KEY", msgtype="image",
                              image={"url": world.wecom_url + item.url_path, "aeskey": wrong})
    assert answer == notices.attachment_failed(notices.UNREADABLE)


@pytest.mark.parametrize(
    ("case", "make", "filename", "read"),
    [
        ("a 10,000-page PDF", lambda: documents.pdf([f"page {n}" for n in range(1, 10_001)]),
         "big.pdf", "pages 201 to 10000"),
        ("a sheet of a million rows", lambda: documents.xlsx_with_rows(1_000_000),
         "million.xlsx", "rows after 5000 of sheet 'Data'"),
    ],
)
def test_a_huge_file_is_read_to_its_caps_and_the_model_is_told_what_was_left_out(
    world, figures, case, make, filename, read
):
    data = make()
    url = world.bot_item(data, filename)
    answer, seconds = world.ask_bot(f"HUGE-{filename}", msgtype="file", file={"url": url})
    assert answer == f"answer to: {notices.FILE_PROMPT} (pictures: 0)"
    asked = text_of(world.model.requests[-1]["messages"][-1])
    assert read in asked and "left out" in asked
    figures(f"{case} ({len(data):,} bytes): answered in {seconds:.1f} s, "
            f"service peak RSS {world.service_peak_mb():.0f} MB")
