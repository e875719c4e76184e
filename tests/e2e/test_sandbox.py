"""`make run` without a config.json: the real service beside the built-in WeCom emulator, one
process, as a person tries it. Everything here goes through real HTTP: the member API of the
emulator, the callbacks it signs, the WeCom API the service calls, the operator API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.standins.openai_media_standin import OpenAIMediaStandIn
from tests.standins.openai_standin import OpenAIStandIn
from tests.support import documents
from tests.support.images import picture
from tests.support.live_server import serve
from tests.support.sandbox_process import SandboxProcess
from tests.support.service_process import ROOT, wait_until

VOICE = Path(__file__).parents[1] / "data" / "voice_hello.amr"
# Chats are each app's or bot's own: "<channel>/private:<member>", "<channel>/group:<chatid>".
XIAOZHI, IT, BOT = "app:default", "app:it", "aibot:team"
ME = f"{XIAOZHI}/private:zhangsan"
WHITELISTED, NOT_WHITELISTED = "group:wrkNankaiKnowledge", "group:wrkChitchat"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    process = SandboxProcess(tmp_path_factory.mktemp("sandbox"))
    process.start()
    yield process
    process.stop()


def test_without_config_json_the_sandbox_starts_and_says_so_in_one_line(tmp_path):
    process = SandboxProcess(tmp_path)
    process.start()
    try:
        assert httpx.get(f"{process.page_url}/", timeout=5).status_code == 200
        notice = process.log().splitlines()[0]
        assert notice.startswith("weworktop: no config.json here; starting the sandbox")
        assert "weworktop ready" in process.log()
    finally:
        assert process.stop() == 0
    assert " WARNING " not in process.log()
    # Two servers in one process: each of uvicorn's lines says which one it is about.
    started = [
        line for line in process.log().splitlines()
        if "Started server process" in line or "Application startup complete." in line
    ]
    assert len(started) == 4
    assert {line.split("uvicorn.error: ")[1].split(" (port")[0] for line in started} == {
        "service", "WeCom emulator and page",
    }
    assert (tmp_path / "data" / "sandbox.db").exists()
    assert not (tmp_path / "data" / "sandbox-admin-token").exists()


def test_hello_is_answered_by_the_offline_model_within_a_second(sandbox, figures):
    started = time.monotonic()
    mine = sandbox.send("zhangsan", ME, "你好")
    wait_until(lambda: sandbox.replies(ME), timeout=5, what="the reply")
    latency = time.monotonic() - started
    figures(f"reply shown {latency * 1000:.0f} ms after sending")
    assert latency < 1.0
    assert sandbox.replies(ME)[0]["text"].startswith("（离线模型）你说：你好")
    assert sandbox.settled(mine["id"])["status"] == "answered"


def test_a_group_off_the_whitelist_gets_no_answer_and_the_reason_is_shown(sandbox):
    mine = sandbox.send("lisi", f"{XIAOZHI}/{NOT_WHITELISTED}", "小知 你好")
    settled = sandbox.settled(mine["id"])
    assert (settled["status"], settled["note"]) == (
        "ignored", "group '闲聊群' is not in group_name_white_list"
    )
    assert sandbox.replies(f"{XIAOZHI}/{NOT_WHITELISTED}") == []


def test_a_whitelisted_group_question_is_answered_naming_the_asker(sandbox):
    group = f"{XIAOZHI}/{WHITELISTED}"
    unprefixed = sandbox.send("lisi", group, "大家好")
    assert sandbox.settled(unprefixed["id"])["note"] == "no group_chat_prefix matched"
    asked = sandbox.send("lisi", group, "@小知 周会几点？")
    assert sandbox.settled(asked["id"])["status"] == "answered"
    [reply] = sandbox.replies(group)
    assert reply["text"].startswith("@李四 （离线模型）你说：周会几点？")


def test_a_picture_is_uploaded_to_the_emulator_and_shown(sandbox):
    asked = sandbox.send("wangwu", f"{XIAOZHI}/private:wangwu", "画 一只猫")
    assert sandbox.settled(asked["id"])["status"] == "answered"
    [picture] = [b for b in sandbox.replies(f"{XIAOZHI}/private:wangwu") if b["kind"] == "image"]
    image = httpx.get(f"{sandbox.page_url}/media/{picture['media_id']}", timeout=5)
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def send_voice(sandbox: SandboxProcess, member: str) -> dict:
    response = httpx.post(
        f"{sandbox.page_url}/api/voice",
        data={"from": member, "conversation": f"{XIAOZHI}/private:{member}"},
        files={"voice": ("hello.amr", VOICE.read_bytes(), "audio/amr")},
        timeout=5,
    )
    assert response.status_code == 200
    return sandbox.settled(response.json()["id"])


def test_without_a_speech_service_a_voice_clip_gets_the_voice_is_off_notice(sandbox):
    settled = send_voice(sandbox, "wangwu")
    # A notice, not an answer: the page shows the clip as not transcribed.
    assert (settled["status"], settled["reply"], settled["note"]) == (
        "answered", "notice", "voice off",
    )
    assert "语音识别没有开启" in sandbox.replies(f"{XIAOZHI}/private:wangwu")[-1]["text"]


def test_with_a_speech_service_a_voice_clip_is_fetched_transcribed_and_answered(tmp_path):
    speech = OpenAIMediaStandIn(transcript="明天几点开会")
    with serve(speech.app) as speech_url:
        models = {"llm": {"provider": "echo"}, "speech": {"base_url": f"{speech_url}/v1",
                                                         "provider": "openai"}}
        (tmp_path / "models.json").write_text(json.dumps(models), encoding="utf-8")
        process = SandboxProcess(tmp_path, "--sandbox", "--config", "models.json")
        process.start()
        try:
            settled = send_voice(process, "zhangsan")
            [reply] = process.replies(ME)
        finally:
            process.stop()
    assert (settled["status"], settled["reply"]) == ("answered", "answer")
    assert reply["text"].startswith("（离线模型）你说：明天几点开会")
    assert speech.transcriptions[0].data[:4] == b"RIFF"  # fetched from the emulator, decoded
    assert " WARNING " not in process.log()


def test_the_it_app_has_its_own_prefix_and_welcome_and_answers_as_itself(sandbox):
    chat = f"{IT}/private:lisi"
    sandbox.open("lisi", chat)
    wait_until(lambda: sandbox.replies(chat), what="the IT app's welcome")
    unprefixed = sandbox.send("lisi", chat, "打印机连不上")
    asked = sandbox.send("lisi", chat, "IT 打印机连不上")

    ignored = sandbox.settled(unprefixed["id"])
    assert (ignored["status"], ignored["note"]) == ("ignored", "no single_chat_prefix matched")
    assert sandbox.settled(asked["id"])["status"] == "answered"
    welcome, answer = [reply["text"] for reply in sandbox.replies(chat)]
    assert welcome.startswith("你好，我是 IT 帮手")
    assert answer.startswith("（离线模型）你说：打印机连不上")
    # Sent through the IT app (its own agentid and token): nothing landed in 小知's chat.
    assert sandbox.replies(f"{XIAOZHI}/private:lisi") == []
    sandbox.open("lisi", chat)  # opened again: WeCom tells the app once per sandbox run
    time.sleep(0.5)
    assert len(sandbox.replies(chat)) == 2


def test_the_bot_streams_its_answer_and_needs_a_mention_in_groups(sandbox):
    private = sandbox.send("wangwu", f"{BOT}/private:wangwu", "周会几点？")
    group = f"{BOT}/{WHITELISTED}"
    unmentioned = sandbox.send("wangwu", group, "周会几点？")
    mentioned = sandbox.send("wangwu", group, "@团队助手 周会几点？")
    elsewhere = sandbox.send("wangwu", f"{BOT}/{NOT_WHITELISTED}", "@团队助手 你好")

    assert sandbox.settled(private["id"])["status"] == "answered"
    assert sandbox.settled(mentioned["id"])["status"] == "answered"
    wait_until(lambda: sandbox.replies(group), what="the bot's answer in the group")
    assert [r["text"] for r in sandbox.replies(f"{BOT}/private:wangwu")] == [
        "（离线模型）你说：周会几点？\n我记得之前的 0 条消息。"
    ]
    assert sandbox.replies(group)[0]["text"].startswith("（离线模型）你说：周会几点？")
    assert sandbox.bubble(unmentioned["id"])["status"] == "undelivered"
    assert "@团队助手" in sandbox.bubble(unmentioned["id"])["note"]
    assert sandbox.settled(elsewhere["id"])["note"] == (
        "group 'wrkChitchat' is not in group_name_white_list"
    )


def test_the_page_offers_every_app_and_bot(sandbox):
    setup = httpx.get(f"{sandbox.page_url}/api/setup", timeout=5).json()
    assert [(c["id"], c["name"], c["kind"]) for c in setup["channels"]] == [
        (XIAOZHI, "小知", "app"), (IT, "IT 帮手", "app"), (BOT, "团队助手", "aibot"),
        ("aibot:live", "长连接助手", "aibot"),
    ]
    log = sandbox.log()
    for line in ("app default (agent 1000002) at /wework_callback",
                 "app it (agent 1000003) at /wework_callback/it",
                 "aibot team at /wework_aibot/team",
                 "aibot live over a long connection to ws://127.0.0.1:"):
        assert f"serving {line}" in log


def test_a_long_message_gets_the_offline_model_s_long_answer_in_ordered_parts(sandbox):
    text = "".join(f"第{i}句话，说得长一些。" for i in range(80))
    asked = sandbox.send("lisi", f"{XIAOZHI}/private:lisi", text)
    assert sandbox.settled(asked["id"])["status"] == "answered"
    parts = [reply["text"] for reply in sandbox.replies(f"{XIAOZHI}/private:lisi")]
    assert len(parts) == 2 and all(len(part.encode()) <= 2048 for part in parts)
    assert "".join(parts).startswith(f"（离线模型）你说：{text}\n")


def test_after_a_restart_each_conversation_is_shown_from_the_store(tmp_path):
    process = SandboxProcess(tmp_path)
    process.start()
    try:
        for text in ("第一句", "第二句"):
            process.settled(process.send("zhangsan", ME, text)["id"])
        silent = process.send("lisi", f"{XIAOZHI}/{NOT_WHITELISTED}", "小知 有人吗")
        process.settled(silent["id"])
    finally:
        process.stop()
    process.start()
    try:
        shown = [(b["sender"], b["text"], b["status"]) for b in process.bubbles(ME)]
        ignored = process.bubbles(f"{XIAOZHI}/{NOT_WHITELISTED}")
        third = process.send("zhangsan", ME, "第三句")
        process.settled(third["id"])
        latest = process.replies(ME)[-1]["text"]
    finally:
        process.stop()
    assert shown == [
        ("zhangsan", "第一句", "answered"),
        ("", "（离线模型）你说：第一句\n我记得之前的 0 条消息。", ""),
        ("zhangsan", "第二句", "answered"),
        ("", "（离线模型）你说：第二句\n我记得之前的 1 条消息。", ""),
    ]
    assert [(b["text"], b["status"], b["note"]) for b in ignored] == [
        ("小知 有人吗", "ignored", "group '闲聊群' is not in group_name_white_list"),
    ]
    assert latest.endswith("我记得之前的 2 条消息。")


def test_the_operator_api_explains_the_same_messages_with_the_token(sandbox):
    admin = f"{sandbox.service_url}/admin/api"
    assert httpx.get(f"{admin}/search?q=lisi", timeout=5).status_code == 401
    headers = {"Authorization": f"Bearer {sandbox.admin_token}"}
    found = httpx.get(f"{admin}/search?q=lisi", headers=headers, timeout=5).json()["messages"]
    assert "ignored" in {m["status"] for m in found}
    token = httpx.get(f"{admin}/token", headers=headers, timeout=5).json()
    assert token["seconds_left"] > 3600 and token["last_error"] is None
    assert sandbox.admin_token not in sandbox.log()


def test_no_sandbox_secret_is_printed_or_logged(sandbox):
    assert sandbox.admin_token not in sandbox.printed
    assert sandbox.admin_token not in sandbox.log()


def test_other_web_pages_can_neither_chat_nor_read_the_log(sandbox):
    chat = {"from": "zhangsan", "conversation": ME, "text": "CSRF 你好"}
    page = sandbox.page_url
    host = page.removeprefix("http://")
    attempts = {
        # A cross-site form or fetch without a preflight: text/plain.
        "text/plain": httpx.post(
            f"{page}/api/messages", content=json.dumps(chat),
            headers={"Content-Type": "text/plain"}, timeout=5,
        ),
        "another origin": httpx.post(
            f"{page}/api/messages", json=chat,
            headers={"Origin": "http://evil.example"}, timeout=5,
        ),
        "a cross-site voice form": httpx.post(
            f"{page}/api/voice", files={"voice": ("v.amr", VOICE.read_bytes())},
            data={"from": "zhangsan", "conversation": ME},
            headers={"Sec-Fetch-Site": "cross-site"}, timeout=5,
        ),
        # DNS rebinding: the attacker's name, resolved to 127.0.0.1.
        "a rebound host name": httpx.get(
            f"{page}/api/updates?since=0", headers={"Host": "rebind.evil.example"}, timeout=5
        ),
    }
    assert {why: response.status_code for why, response in attempts.items()} == {
        "text/plain": 415, "another origin": 403, "a cross-site voice form": 403,
        "a rebound host name": 400,
    }
    assert "CSRF" not in json.dumps(sandbox.bubbles(ME), ensure_ascii=False)
    own_page = httpx.post(
        f"{page}/api/messages", json={**chat, "text": "同源 你好"},
        headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}, timeout=5,
    )
    assert own_page.status_code == 200


def test_with_a_model_configured_a_long_answer_arrives_in_ordered_parts(tmp_path):
    long_answer = "\n\n".join(f"第{i}段。" + "这是一个很长的回答。" * 12 for i in range(9))
    model = OpenAIStandIn(reply=lambda body: long_answer)
    with serve(model.app) as model_url:
        config = {"llm": {"provider": "openai", "base_url": f"{model_url}/v1", "model": "m"}}
        (tmp_path / "models.json").write_text(json.dumps(config), encoding="utf-8")
        process = SandboxProcess(tmp_path, "--sandbox", "--config", "models.json")
        process.start()
        try:
            asked = process.send("zhangsan", ME, "写长一点")
            assert process.settled(asked["id"])["status"] == "answered"
            parts = [reply["text"] for reply in process.replies(ME)]
            asked_it = process.send("zhangsan", f"{IT}/private:zhangsan", "IT 你好")
            assert process.settled(asked_it["id"])["status"] == "answered"
        finally:
            process.stop()
    assert len(parts) == 2 and "".join(parts) == long_answer
    xiaozhi, it = model.requests
    assert xiaozhi["model"] == it["model"] == "m"
    # The same model, asked as each app: the IT app has a system prompt of its own.
    assert it["messages"][0]["content"].startswith("你是公司的 IT 帮手")
    assert xiaozhi["messages"][0]["content"] != it["messages"][0]["content"]


def test_the_sandbox_never_replaces_a_real_configuration(tmp_path):
    """With a config.json present, `python app.py` starts on it, not the sandbox."""
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "config.json: services: required key is missing" in result.stderr
    assert "sandbox" not in result.stderr + result.stdout


def upload(sandbox, field: str, conversation: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{sandbox.page_url}/api/{field}",
        data={"from": "zhangsan", "conversation": conversation},
        files={field: (name, data)},
        timeout=5,
    )


def test_a_picture_sent_to_an_app_is_seen_by_the_offline_model(sandbox):
    photo = picture((320, 240), (200, 30, 30), fmt="JPEG")
    sent = upload(sandbox, "picture", ME, "photo.jpg", photo)
    assert sent.status_code == 200, sent.text
    assert sandbox.settled(sent.json()["id"])["status"] == "answered"
    assert "我看到一张图片：320x240, main colours #c" in sandbox.replies(ME)[-1]["text"]


def test_a_file_sent_to_the_bot_is_read_and_remembered(sandbox):
    chat = f"{BOT}/private:zhangsan"
    contract = documents.docx_file(["第一条：甲方付款。", "第二条：乙方交货。"])
    sent = upload(sandbox, "file", chat, "合同.docx", contract)
    assert sent.status_code == 200, sent.text
    assert sandbox.settled(sent.json()["id"], timeout=30)["status"] == "answered"
    wait_until(lambda: sandbox.replies(chat), what="the bot's answer")
    assert "第二条：乙方交货" in sandbox.replies(chat)[-1]["text"]
    follow_up = sandbox.send("zhangsan", chat, "第二条说了什么？")
    assert sandbox.settled(follow_up["id"], timeout=30)["status"] == "answered"
    wait_until(lambda: "我记得之前的 1 条消息" in sandbox.replies(chat)[-1]["text"],
               what="the follow-up's answer")


def test_a_picture_over_the_long_connection_comes_with_its_own_key_and_is_seen(sandbox):
    chat = "aibot:live/private:zhangsan"
    photo = picture((64, 48), (30, 160, 90))
    sent = upload(sandbox, "picture", chat, "photo.png", photo)
    assert sent.status_code == 200, sent.text
    assert sandbox.settled(sent.json()["id"], timeout=30)["status"] == "answered"
    wait_until(lambda: sandbox.replies(chat), what="the long-connection bot's answer")
    wait_until(lambda: "我看到一张图片：64x48" in sandbox.replies(chat)[-1]["text"],
               what="the picture described")


def test_files_go_to_the_bot_only(sandbox):
    refused = upload(sandbox, "file", ME, "a.txt", b"hello world")
    assert refused.status_code == 400 and "bot" in refused.json()["error"]
