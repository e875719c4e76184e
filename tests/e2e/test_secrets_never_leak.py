"""The real service at DEBUG level through a whole life — start, URL verification, messages,
refused callbacks, token expiry and revocation, WeCom and model errors, the admin surface,
a restart, a refused token fetch — and not one secret or access token in any log line or
any answer."""

from __future__ import annotations

import httpx

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from domain.notices import MODEL_FAILED
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, random_key, service_config
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import GETTOKEN, SEND, WeComEmulator
from wecom_emulator.callbacks import signed_callback, signed_echo, text_message_xml

USER = "zhangsan"


class Life:
    """The service between its stand-ins, and every answer it gave."""

    def __init__(self, service: ServiceProcess, wecom: WeComEmulator, crypto, admin_token: str):
        self.service, self.wecom, self.crypto = service, wecom, crypto
        self.admin_token = admin_token
        self.answers: list[httpx.Response] = []
        self._msg_ids = iter(range(1, 1000))

    def call(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = httpx.request(method, self.service.base_url + path, timeout=10, **kwargs)
        self.answers.append(response)
        return response

    def ask(self, content: str) -> httpx.Response:
        xml = text_message_xml(
            self.wecom.corp_id, USER, content, msg_id=next(self._msg_ids),
            agent_id=self.wecom.agent_id,
        )
        params, body = signed_callback(self.crypto, xml)
        return self.call("POST", "/wework_callback", params=params, content=body)

    def ask_and_wait_for_reply(self, content: str) -> str:
        before = len(self.wecom.contents_for(USER))
        assert self.ask(content).status_code == 200
        wait_until(lambda: len(self.wecom.contents_for(USER)) > before, 15, f"reply to {content}")
        return self.wecom.contents_for(USER)[before]

    def ask_and_wait_for_failure(self, content: str) -> None:
        before = self.stats()["events_by_type"].get("DeliveryFailed", 0)
        assert self.ask(content).status_code == 200
        wait_until(
            lambda: self.stats()["events_by_type"].get("DeliveryFailed", 0) > before,
            15, f"the failed delivery of {content}",
        )

    def stats(self, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return self.call("GET", "/admin/api/stats", headers=headers).json()


def test_no_secret_and_no_access_token_leaks_in_a_whole_life_at_debug_level(tmp_path):
    wecom = WeComEmulator(known_users={USER})
    llm_key = "sk-" + random_key(40)
    model = OpenAIStandIn(reply=lambda body: f"回答：{body['messages'][-1]['content']}",
                          api_key=llm_key)
    admin_token = random_key(32)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        keys = CallbackKeys()
        config = service_config(
            wecom, wecom_url, keys, f"sqlite:///{tmp_path}/events.db",
            llm={"provider": "openai", "base_url": f"{model_url}/v1", "api_key": llm_key},
        )
        config["admin"] = {"enabled": True, "bearer_token": admin_token}
        config["logging"] = {"level": "DEBUG"}
        token, aes_key = keys.token, keys.aes_key
        service = ServiceProcess(config, tmp_path)
        service.start()
        life = Life(service, wecom, WeComCrypto(token, aes_key, wecom.corp_id), admin_token)
        try:
            verification = signed_echo(life.crypto, "echo-4711")
            assert life.call("GET", "/wework_callback", params=verification).text == "echo-4711"
            assert life.call("GET", "/wework_callback", params=verification).status_code == 403

            assert life.ask_and_wait_for_reply("你好") == "回答：你好"
            xml = text_message_xml(wecom.corp_id, USER, "伪造", 500, wecom.agent_id)
            params, body = signed_callback(life.crypto, xml)
            forged = {**params, "msg_signature": "0" * 40}
            refused = life.call("POST", "/wework_callback", params=forged, content=body)
            assert refused.status_code == 403
            garbled = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[!!")
            refused = life.call("POST", "/wework_callback", params=params, content=garbled)
            assert refused.status_code == 403

            wecom.expire_tokens()  # 42001: renewed once
            assert life.ask_and_wait_for_reply("过期了") == "回答：过期了"
            wecom.revoke_tokens()  # 40014: renewed once
            assert life.ask_and_wait_for_reply("撤销了") == "回答：撤销了"
            wecom.fail_next(SEND, -1)  # busy: retried
            assert life.ask_and_wait_for_reply("忙吗") == "回答：忙吗"
            quoted = f"not allow to access from your ip, token {wecom.issued_tokens[-1]}, " \
                     f"secret {wecom.corp_secret}"
            wecom.fail_next(SEND, 60020, errmsg=quoted)
            life.ask_and_wait_for_failure("IP 不可信")

            model.fail_next(401, message=f"Incorrect API key provided: {llm_key}")
            assert life.ask_and_wait_for_reply("模型一") == MODEL_FAILED
            model.fail_next(400, message=f"context too long for key {llm_key}")
            assert life.ask_and_wait_for_reply("模型二") == MODEL_FAILED

            assert life.call("GET", "/admin/api/stats").status_code == 401
            assert life.call(
                "GET", "/admin/api/stats", headers={"Authorization": "Bearer " + "x" * 32}
            ).status_code == 401
            assert life.stats()["pending_messages"] == 0

            fetched = wecom.gettoken_calls
            service.stop()
            service.start()  # the token comes back from the shared cache, not from WeCom
            assert life.ask_and_wait_for_reply("重启后") == "回答：重启后"
            assert wecom.gettoken_calls == fetched

            wecom.expire_tokens()
            wecom.fail_next(GETTOKEN, 40001, errmsg=f"invalid credential {wecom.corp_secret}")
            life.ask_and_wait_for_failure("密钥错了")
        finally:
            service.stop()

    log = service.log()
    assert " DEBUG " in log and "refused with 403" in log and "ACTION NEEDED" in log
    assert len(wecom.issued_tokens) >= 3
    secret_values = {
        "corp_secret": wecom.corp_secret, "token": token, "aes_key": aes_key,
        "llm api_key": llm_key, "admin bearer_token": admin_token,
        **{f"access token {i}": value for i, value in enumerate(wecom.issued_tokens)},
    }
    answers = [f"{r.status_code} {r.headers} {r.text}" for r in life.answers]
    assert len(answers) >= 20
    leaked_to_log = [name for name, value in secret_values.items() if value in log]
    leaked_to_callers = [
        name for name, value in secret_values.items() if any(value in a for a in answers)
    ]
    assert (leaked_to_log, leaked_to_callers) == ([], [])
