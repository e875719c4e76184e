"""The expat reader of callback XML: defusedxml's guarantees, and ElementTree's reading."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adapters.inbound.callback.callback_errors import MalformedCallback
from adapters.inbound.wecom_app.flat_xml import read_fields

# --- what defusedxml refuses --------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]><xml><Content>&i;</Content></xml>"
)
QUADRATIC_BLOWUP = (
    f'<!DOCTYPE xml [<!ENTITY big "{"x" * 50_000}">]>'
    f"<xml><Content>{'&big;' * 5_000}</Content></xml>"
)


@pytest.fixture
def file_secret(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t-from-the-disk")
    return secret


@pytest.fixture
def listener():
    """A real HTTP server on 127.0.0.1 that counts what an XML parser fetches from it."""
    fetched: list[str] = []

    class Recording(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            fetched.append(self.path)
            body = b'<!ENTITY remote "fetched-from-the-network">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", fetched
    server.shutdown()
    server.server_close()


def attacks(file_secret, base_url) -> dict[str, str]:
    return {
        "billion laughs": BILLION_LAUGHS,
        "quadratic blowup": QUADRATIC_BLOWUP,
        "external entity (file)": (
            f'<!DOCTYPE xml [<!ENTITY e SYSTEM "file://{file_secret}">]>'
            "<xml><Content>&e;</Content></xml>"
        ),
        "external entity (network)": (
            f'<!DOCTYPE xml [<!ENTITY e SYSTEM "{base_url}/entity">]>'
            "<xml><Content>&e;</Content></xml>"
        ),
        "external DTD": (
            f'<!DOCTYPE xml SYSTEM "{base_url}/evil.dtd"><xml><Content>&remote;</Content></xml>'
        ),
        "parameter entity": (
            f'<!DOCTYPE xml [<!ENTITY % p SYSTEM "{base_url}/p.dtd"> %p;]>'
            "<xml><Content>&remote;</Content></xml>"
        ),
        "unparsed entity": (
            '<!DOCTYPE xml [<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "x.bin" NDATA n>]>'
            "<xml><Content>x</Content></xml>"
        ),
        "harmless DTD": "<!DOCTYPE xml><xml><Content>x</Content></xml>",
    }


@pytest.mark.parametrize(
    "attack",
    [
        "billion laughs", "quadratic blowup", "external entity (file)",
        "external entity (network)", "external DTD", "parameter entity", "unparsed entity",
        "harmless DTD",
    ],
)
def test_every_dtd_is_refused_before_anything_is_declared_expanded_or_fetched(
    attack, file_secret, listener
):
    base_url, fetched = listener
    with pytest.raises(MalformedCallback) as refused:
        read_fields(attacks(file_secret, base_url)[attack].encode(), "message")
    assert refused.value.reason == "message is not acceptable XML (DTDForbidden)"
    assert (refused.value.status, refused.value.code) == (400, -40002)
    assert fetched == []


def test_an_entity_that_no_dtd_declared_is_refused():
    with pytest.raises(MalformedCallback, match=r"not acceptable XML \(ExpatError\)"):
        read_fields(b"<xml><Content>&lol;</Content></xml>", "message")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<xml><Content>\xc3\x28</Content></xml>", "message is not UTF-8"),
        ("<xml><Content>中文</Content></xml>".encode("utf-16"), "message is not UTF-8"),
        (b"<xml><Content>x</Content></xml><xml/>", "message is not acceptable XML (ExpatError)"),
        (b"<xml><Content>x</xml>", "message is not acceptable XML (ExpatError)"),
        (b"", "message is not acceptable XML (ExpatError)"),
        (b"<html><Content>x</Content></html>", "message root element is not <xml>"),
    ],
)
def test_what_is_not_a_utf8_xml_document_is_refused_with_its_reason(body, reason):
    with pytest.raises(MalformedCallback) as refused:
        read_fields(body, "message")
    assert refused.value.reason == reason


# --- what ElementTree read ----------------------------------------------------------------------


def test_predefined_entities_and_character_references_are_read():
    body = b"<xml><Content>a &amp; b &lt;c&gt; &#20320;&#x597D;</Content></xml>"
    assert read_fields(body, "message") == {"Content": "a & b <c> 你好"}


def test_text_is_whole_across_lines_cdata_sections_and_expat_buffers():
    long_text = "line\n" * 5_000  # beyond expat's 8 KiB text buffer
    body = f"<xml><Content>{long_text}<![CDATA[<b>]]>]]&gt;tail</Content></xml>".encode()
    assert read_fields(body, "message") == {"Content": long_text + "<b>]]>tail"}


def test_a_child_is_read_as_findtext_reads_it():
    body = (
        b'<xml id="1">\n  <MsgType a="b">text</MsgType>\n'
        b"  <ScanCodeInfo>before<ScanType>qrcode</ScanType>after</ScanCodeInfo>\n"
        b"  <Content/>\n  <MsgType>second</MsgType>\n</xml>"
    )
    assert read_fields(body, "message") == {
        "MsgType": "text", "ScanCodeInfo": "before", "Content": ""
    }


def test_an_encoding_declaration_cannot_turn_utf8_into_something_else():
    body = '<?xml version="1.0" encoding="GBK"?><xml><Content>中文</Content></xml>'.encode()
    assert read_fields(body, "message") == {"Content": "中文"}
