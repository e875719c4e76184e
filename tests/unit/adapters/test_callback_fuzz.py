"""Property-based fuzzing of the callback: the decrypt-and-parse path, and the HTTP endpoint
in-process with a real intake and an in-memory store.

Random bytes rarely get past a signature check, so most strategies are structure-aware: they
sign what they send with the app's real Token and encrypt with its real key, so that garbage
reaches the cipher, the padding, the length field, the receiveid and the XML parser.

Properties: nothing but a CallbackRejected leaves the parsing path; the endpoint never
answers 5xx and never lets an exception escape; a refused request stores nothing, and an
accepted one stores exactly the message the parser read.

The run is bounded (WEWORKTOP_FUZZ_EXAMPLES examples per property, 150 by default, about a
few seconds in all); set it higher to fuzz for longer.
"""

from __future__ import annotations

import base64
import contextlib
import os
from xml.sax.saxutils import escape

import httpx
from defusedxml.ElementTree import fromstring as defused_fromstring
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from adapters.inbound.callback.callback_errors import CallbackRejected, MalformedCallback
from adapters.inbound.wecom_app.flat_xml import read_fields
from adapters.inbound.wecom_app.wecom_callback import WeComCallback
from adapters.inbound.wecom_app.wecom_xml import parse_envelope, parse_message
from application.pipeline.accept_message import AcceptMessage
from domain.messages import InboundMessage
from tests.fakes.event_store import InMemoryEventStore
from tests.support.hostile_callbacks import CallbackRequest, Peer
from wecom_emulator.callbacks import cdata

CORP_ID, AGENT_ID = "ww1234567890", 1000001
PEER = Peer("Token123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", CORP_ID, AGENT_ID)
PATH = "/wework_callback"

FUZZ = settings(
    max_examples=int(os.environ.get("WEWORKTOP_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies ---------------------------------------------------------------------------------

ANY_TEXT = st.text(max_size=60)  # includes characters XML cannot carry, and surrogates
XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
TAGS = st.sampled_from(
    ["xml", "ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId",
     "AgentID", "ChatId", "Event", "Encrypt", "a"]
)
TRICKS = st.sampled_from(
    ["&amp;", "&lt;", "&#0;", "&#x1F600;", "&undefined;", "<![CDATA[", "]]>", "<!-- c -->",
     "<?pi x?>", "<!DOCTYPE xml>", '<!ENTITY e "x">', "\x00", "\ufeff", "<"]
)
LEAVES = st.one_of(XML_TEXT.map(escape), XML_TEXT.map(cdata), TRICKS, st.integers().map(str))
ANY_XML = st.recursive(
    LEAVES,
    lambda kids: st.builds(
        lambda tag, inner: f"<{tag}>{''.join(inner)}</{tag}>", TAGS, st.lists(kids, max_size=5)
    ),
    max_leaves=30,
)

NUMBERS = st.one_of(
    st.integers(0, 2**64).map(str), st.sampled_from(["", "-1", "1.5", "0x10", "١٢", "²", " 1"])
)
FIELDS = {
    "ToUserName": st.one_of(st.just(CORP_ID), XML_TEXT),
    "FromUserName": st.one_of(st.just("zhangsan"), XML_TEXT, st.text("u", min_size=190)),
    "CreateTime": NUMBERS,
    "MsgType": st.one_of(st.sampled_from(["text", "event", "image", "shake", ""]), XML_TEXT),
    "Content": st.one_of(XML_TEXT, st.just("x" * 70_000)),
    "MsgId": NUMBERS,
    "AgentID": st.one_of(st.just(str(AGENT_ID)), NUMBERS),
    "ChatId": XML_TEXT,
    "Event": XML_TEXT,
}


def render(fields: dict[str, str]) -> str:
    return "<xml>" + "".join(f"<{tag}>{cdata(v)}</{tag}>" for tag, v in fields.items()) + "</xml>"


# Message-shaped XML: a fair share of these are real messages, so the accept path is fuzzed too.
MESSAGE_XML = st.fixed_dictionaries(
    {"FromUserName": FIELDS["FromUserName"], "MsgType": FIELDS["MsgType"]},
    optional={t: v for t, v in FIELDS.items() if t not in ("FromUserName", "MsgType")},
).map(render)

PLAINTEXTS = st.one_of(
    st.one_of(MESSAGE_XML, ANY_XML, XML_TEXT).map(str.encode), st.binary(max_size=300)
)


@st.composite
def sealed_layouts(draw) -> str:
    """Ciphertext of random16 + msg_len + msg + receiveid + padding, each part a bit wrong."""
    msg = draw(PLAINTEXTS)
    receive_id = draw(st.sampled_from([CORP_ID.encode(), b"", b"wwOther", CORP_ID.encode() + b"x"]))
    msg_len = draw(st.one_of(st.just(len(msg)), st.integers(0, 2**32 - 1)))
    body = b"R" * 16 + msg_len.to_bytes(4, "big") + msg + receive_id
    pad = draw(st.integers(1, 32)) if draw(st.booleans()) else 32 - len(body) % 32
    padded = body + bytes([pad]) * pad
    padded += draw(st.binary(min_size=(-len(padded)) % 16, max_size=(-len(padded)) % 16))
    return PEER.seal(padded)


ENCRYPTED = st.one_of(
    ANY_TEXT,  # not base64
    st.binary(max_size=200).map(lambda data: base64.b64encode(data).decode()),
    sealed_layouts(),
    PLAINTEXTS.map(PEER.crypto.encrypt),  # well encrypted garbage
)


# --- the decrypt-and-parse path -----------------------------------------------------------------


def open_and_parse(encrypted: str) -> InboundMessage | None:
    params = dict(PEER.params(encrypted))
    plaintext = PEER.crypto.open_message(
        params["msg_signature"], params["timestamp"], params["nonce"], encrypted
    )
    return parse_message(plaintext, expected_agent_id=AGENT_ID)


@FUZZ
@given(ENCRYPTED)
def test_only_a_callback_rejection_leaves_the_decrypt_and_parse_path(encrypted):
    with contextlib.suppress(CallbackRejected):
        message = open_and_parse(encrypted)
        # Whatever got through is a message the rest of the service can hold.
        assert message.from_user and len(message.from_user) <= 200
        assert message.agent_id == AGENT_ID
        assert 0 <= message.create_time < 2**63
        assert message.msg_id.isdigit() or message.msg_type == "event"


@FUZZ
@given(st.one_of(st.binary(max_size=400), ANY_XML.map(str.encode), MESSAGE_XML.map(str.encode)))
def test_only_a_callback_rejection_leaves_the_envelope_parser(body):
    with contextlib.suppress(CallbackRejected):
        assert parse_envelope(body).encrypt


def defusedxml_reading(body: bytes) -> dict[str, str] | None:
    """What the parser before the expat reader made of `body`: None if it refused it."""
    try:
        root = defused_fromstring(body.decode("utf-8"), forbid_dtd=True)
    except Exception:
        return None
    if root.tag != "xml":
        return None
    return {child.tag: root.findtext(child.tag) for child in root}


@FUZZ
@given(st.one_of(ANY_XML.map(str.encode), MESSAGE_XML.map(str.encode), st.binary(max_size=200)))
def test_the_expat_reader_reads_and_refuses_what_defusedxml_did(body):
    try:
        fields = read_fields(body, "message")
    except MalformedCallback:
        fields = None
    assert fields == defusedxml_reading(body)


# --- the HTTP endpoint --------------------------------------------------------------------------


class Notified:
    def __init__(self) -> None:
        self.conversations: list[str] = []

    def notify(self, conversation_id: str) -> None:
        self.conversations.append(conversation_id)


async def exchange(request: CallbackRequest) -> tuple[int, InMemoryEventStore]:
    store = InMemoryEventStore()
    callback = WeComCallback(
        PEER.crypto, AcceptMessage(store, Notified()), AGENT_ID, max_skew_seconds=300
    )
    app = Starlette(routes=callback.routes(PATH))
    # raise_app_exceptions (httpx's default) makes any escaping exception fail the test.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://wecom.test"
    ) as client:
        response = await client.request(
            request.method, PATH, params=request.params, content=request.body,
            headers=request.headers,
        )
    event(f"answered {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code in (200, 400, 403, 405, 413)
    if response.status_code != 200:
        assert store.log == []
    return response.status_code, store


QUERY_NAMES = st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "x"])
RAW_REQUESTS = st.builds(
    CallbackRequest,
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    params=st.lists(st.tuples(QUERY_NAMES, ANY_TEXT.filter(lambda s: "\x00" not in s)), max_size=6),
    body=st.one_of(st.binary(max_size=500), ANY_XML.map(str.encode)),
    headers=st.dictionaries(
        st.just("content-type"),
        st.sampled_from(["text/xml", "application/xml", "application/json", "multipart/form-data",
                         "text/plain; charset=gbk", "application/x-www-form-urlencoded", ""]),
    ),
)


@FUZZ
@given(RAW_REQUESTS)
async def test_random_requests_are_refused_without_a_5xx_and_store_nothing(request):
    status, store = await exchange(request)
    assert status != 200
    assert store.log == []


@FUZZ
@given(ENCRYPTED)
async def test_signed_envelopes_of_garbage_never_break_the_endpoint(encrypted):
    status, store = await exchange(PEER.post(encrypted))
    try:
        expected = open_and_parse(encrypted)
    except CallbackRejected:
        expected = None
    if expected is None:
        assert status in (400, 403) and store.log == []
    else:
        # Accepted exactly when the parser accepts it, and recorded as what it read.
        assert status == 200
        assert [event.message for event in store.log] == [expected]


@FUZZ
@given(ANY_TEXT, st.sampled_from(["GET", "POST"]))
async def test_signed_query_strings_with_garbage_echostr_are_refused(echostr, method):
    signed = PEER.params(echostr)
    request = CallbackRequest(method, [*signed, ("echostr", echostr)], b"")
    status, store = await exchange(request)
    assert status in (400, 403, 413) or (method == "GET" and status == 200)
    assert store.log == []
