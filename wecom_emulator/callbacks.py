"""Callbacks as WeCom sends them to an app (WECOM.md, "Callback"): the message as XML in
WeCom's layout, encrypted and signed with the app's Token and EncodingAESKey.

    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)   # anything with encrypt and signature
    xml = text_message_xml(CORP_ID, "zhangsan", "hello", msg_id="1", agent_id=1000002)
    params, body = signed_callback(crypto, xml)
    client.post("/wework_callback", params=params, content=body)

`params` holds msg_signature, timestamp and nonce; `body` is the encrypted envelope. The
AES and sha1 work is the caller's `crypto` (the sandbox and the tests lend the service's own
or an independent one), so the emulator stays free of the service's code.
"""

from __future__ import annotations

import secrets
import time
from typing import Protocol
from xml.etree import ElementTree


class CallbackCrypto(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def signature(self, timestamp: str, nonce: str, payload: str) -> str: ...


def text_message_xml(
    corp_id: str,
    from_user: str,
    content: str,
    msg_id: str | int,
    agent_id: int,
    create_time: int | None = None,
    chat_id: str | None = None,
) -> str:
    """A decrypted text message; `chat_id` makes it a group message."""
    return _message_xml(
        corp_id, from_user, msg_id, agent_id, create_time, chat_id, MsgType="text", Content=content
    )


def voice_message_xml(
    corp_id: str,
    from_user: str,
    media_id: str,
    msg_id: str | int,
    agent_id: int,
    chat_id: str | None = None,
) -> str:
    """A decrypted voice message: the clip itself waits in media/get under `media_id`."""
    return _message_xml(
        corp_id, from_user, msg_id, agent_id, None, chat_id,
        MsgType="voice", MediaId=media_id, Format="amr",
    )


def image_message_xml(
    corp_id: str,
    from_user: str,
    media_id: str,
    msg_id: str | int,
    agent_id: int,
    pic_url: str = "",
) -> str:
    """A decrypted picture message: the picture waits in media/get under `media_id`."""
    return _message_xml(
        corp_id, from_user, msg_id, agent_id, None, None,
        MsgType="image", PicUrl=pic_url or f"https://wework.qpic.cn/{media_id}", MediaId=media_id,
    )


def event_xml(
    corp_id: str, from_user: str, event: str, agent_id: int, create_time: int | None = None
) -> str:
    """A decrypted event (enter_agent, subscribe, ...): events carry no MsgId."""
    return render_xml(
        {
            "ToUserName": corp_id,
            "FromUserName": from_user,
            "CreateTime": _now() if create_time is None else create_time,
            "MsgType": "event",
            "Event": event,
            "AgentID": agent_id,
        }
    )


def render_xml(fields: dict[str, str | int]) -> str:
    """WeCom's layout: integers bare, strings in CDATA."""
    inner = "".join(
        f"<{tag}>{value}</{tag}>" if isinstance(value, int) else f"<{tag}>{cdata(value)}</{tag}>"
        for tag, value in fields.items()
    )
    return f"<xml>{inner}</xml>"


def cdata(text: str) -> str:
    # "]]>" cannot appear inside one CDATA section, so it is split across two.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def signed_callback(
    crypto: CallbackCrypto,
    xml_plaintext: str,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """The POST WeCom would send for `xml_plaintext`: (query params, body).

    ToUserName and AgentID of the envelope are copied from the plaintext, as WeCom does.
    """
    message = ElementTree.fromstring(xml_plaintext)
    encrypted = crypto.encrypt(xml_plaintext)
    params = signed_query(crypto, encrypted, timestamp, nonce)
    body = render_xml(
        {
            "ToUserName": message.findtext("ToUserName", ""),
            "AgentID": message.findtext("AgentID", ""),
            "Encrypt": encrypted,
        }
    )
    return params, body.encode("utf-8")


def signed_echo(
    crypto: CallbackCrypto, echo: str, timestamp: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The query of WeCom's URL-verification GET (not yet URL-encoded); answer must be `echo`."""
    encrypted = crypto.encrypt(echo)
    return {**signed_query(crypto, encrypted, timestamp, nonce), "echostr": encrypted}


def _message_xml(
    corp_id: str,
    from_user: str,
    msg_id: str | int,
    agent_id: int,
    create_time: int | None,
    chat_id: str | None,
    **fields: str,
) -> str:
    message: dict[str, str | int] = {
        "ToUserName": corp_id,
        "FromUserName": from_user,
        "CreateTime": _now() if create_time is None else create_time,
        **fields,
        "MsgId": str(msg_id),
        "AgentID": agent_id,
    }
    if chat_id:
        message["ChatId"] = chat_id
    return render_xml(message)


def signed_query(
    crypto: CallbackCrypto, encrypted: str, timestamp: int | None, nonce: str | None
) -> dict[str, str]:
    """msg_signature, timestamp and nonce of a callback carrying `encrypted`."""
    ts = str(_now() if timestamp is None else timestamp)
    nonce = str(secrets.randbelow(10**10)) if nonce is None else nonce
    return {
        "msg_signature": crypto.signature(ts, nonce, encrypted),
        "timestamp": ts,
        "nonce": nonce,
    }


def _now() -> int:
    return int(time.time())
