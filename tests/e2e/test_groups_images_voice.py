"""The real service with group chats, pictures and voice, against local stand-ins for WeCom
(appchat, user, media), the chat model, and the image and transcription servers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.standins.openai_media_standin import OpenAIMediaStandIn
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator

CHAT, OTHER_CHAT = "wrkGroupNankai", "wrkGroupChitchat"
VOICE = (Path(__file__).parents[1] / "data" / "voice_hello.amr").read_bytes()


class World:
    def __init__(self, service, wecom, model, media, sender):
        self.service, self.wecom, self.model, self.media = service, wecom, model, media
        self.sender = sender

    def post(self, params_body):
        response = self.sender.post(self.service.base_url, *params_body)
        assert response.status_code == 200

    def ignored_in_log(self, reason: str) -> bool:
        return reason in self.service.log()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    wecom = WeComEmulator(
        chats={CHAT: "南开知识社区", OTHER_CHAT: "闲聊群"},
        names={"zhangsan": "张三"},
        media={"VOICE1": VOICE},
    )
    model = OpenAIStandIn()
    media = OpenAIMediaStandIn(transcript="明天几点开会")
    keys = CallbackKeys()
    with (
        serve(wecom.app) as wecom_url,
        serve(model.app) as model_url,
        serve(media.app) as media_url,
    ):
        config = service_config(
            wecom, wecom_url, keys,
            f"sqlite:///{tmp_path_factory.mktemp('db')}/events.db",
            llm={"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in"},
            group_chat_prefix=["小知", "@小知"],
            group_name_white_list=["南开知识社区"],
            image_create_prefix=["画", "生成图片", "创建图像"],
            speech_recognition=True,
        )
        config["image"] = {"base_url": f"{media_url}/v1", "model": "stand-in-image"}
        config["speech"] = {"base_url": f"{media_url}/v1"}
        service = ServiceProcess(config, tmp_path_factory.mktemp("service"))
        service.start()
        yield World(service, wecom, model, media, WeComSender(wecom, keys))
        service.stop()


def test_a_whitelisted_group_question_gets_one_reply_naming_the_asker(world, figures):
    world.post(world.sender.callback("zhangsan", "@小知 周会几点？", 1, chat_id=CHAT))
    wait_until(lambda: world.wecom.chat_contents(CHAT), what="the group reply")
    time.sleep(0.3)
    assert world.wecom.chat_contents(CHAT) == ["@张三 answer to: 周会几点？"]
    figures(f"group replies={len(world.wecom.chat_contents(CHAT))}")


def test_off_the_whitelist_or_without_the_prefix_no_reply_and_a_reason(world):
    world.post(world.sender.callback("zhangsan", "小知 你好", 2, chat_id=OTHER_CHAT))
    world.post(world.sender.callback("zhangsan", "大家好", 3, chat_id=CHAT))
    wait_until(
        lambda: world.ignored_in_log("not in group_name_white_list")
        and world.ignored_in_log("no group_chat_prefix matched"),
        what="both reasons in the log",
    )
    assert world.wecom.chat_contents(OTHER_CHAT) == []
    assert len(world.wecom.chat_contents(CHAT)) == 1


def test_a_drawing_request_yields_an_uploaded_image_message(world, figures):
    world.post(world.sender.callback("zhangsan", "画 一只猫", 4))
    wait_until(lambda: world.wecom.images_for("zhangsan"), what="the image message")
    [media_id] = world.wecom.images_for("zhangsan")
    [upload] = [u for u in world.wecom.uploads if u.media_id == media_id]
    assert upload.data == world.media.image
    assert world.media.image_requests[-1]["prompt"] == "一只猫"
    figures(f"image uploaded={len(upload.data)} bytes, sent as media_id {media_id}")


def test_a_voice_message_is_answered_from_its_transcript(world, figures):
    world.post(world.sender.voice_callback("zhangsan", "VOICE1", 5))
    wait_until(
        lambda: "answer to: 明天几点开会" in world.wecom.contents_for("zhangsan"),
        what="the answer to the voice message",
    )
    [uploaded] = world.media.transcriptions
    assert uploaded.data[:4] == b"RIFF"  # converted from AMR by the real ffmpeg
    figures(f"voice {len(VOICE)} bytes AMR -> {len(uploaded.data)} bytes WAV -> answered")
