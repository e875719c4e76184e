"""SubprocessTextExtractor with real documents (made by the libraries that write them, or by
hand where a case needs it): the text of every supported type, and each hostile file (a zip
bomb, a 10,000-page PDF, a sheet of a million rows, an encrypted or scanned PDF, a damaged
file, one that reads too slowly or needs too much memory) answered in bounded time and memory,
measured: the reader process's peak RSS and the service's own allocations (tracemalloc)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from adapters.outbound.media import document_text, subprocess_text_extractor
from adapters.outbound.media.subprocess_text_extractor import (
    SubprocessTextExtractor,
    reader_environment,
)
from application.ports.media import MediaError
from domain import notices
from tests.support import documents, environment_probe


@pytest.fixture
def extractor():
    return SubprocessTextExtractor(timeout_seconds=30, memory_mb=768)


async def read(extractor, data: bytes, name: str):
    """(text or problem, left_out, seconds, the service's peak allocation in MB)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        extracted = await extractor.extract(data, name)
        found = (extracted.text, extracted.left_out)
    except MediaError as err:
        found = (err.problem, err.reason)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return *found, seconds, peak / 1e6


def reader_peak_mb(data: bytes, name: str, memory_mb: int = 768) -> tuple[dict, float]:
    """The reader program's answer and its peak RSS, run as the extractor runs it."""
    finished = subprocess.run(
        [sys.executable, "-m", document_text.__name__, name, str(memory_mb)],
        input=data, capture_output=True, env=reader_environment(), check=True,
    )
    answer = json.loads(finished.stdout)
    return answer, answer["peak_mb"]


async def test_each_supported_type_gives_its_text(extractor):
    cases = {
        "a.pdf": (documents.pdf(["Payment within 30 days", "Delivery in May"]), "Delivery in May"),
        "合同.docx": (documents.docx_file(["第一条：付款"], [["甲方", "乙方"]]), "甲方\t乙方"),
        "a.xlsx": (documents.xlsx_file({"Q3": [["营收", 1.2]], "Q4": [["x"]]}), "# Q3\n营收\t1.2"),
        "a.pptx": (documents.pptx_file(["Roadmap", "Budget"]), "# 2\nBudget"),
        "a.md": ("# 标题\n- 要点".encode(), "- 要点"),
        "a.csv": ("名字,数量\n苹果,3\n".encode("gb18030"), "苹果,3"),
    }
    for name, (data, expected) in cases.items():
        text, left_out, *_ = await read(extractor, data, name)
        assert expected in text and left_out == "", name


@pytest.mark.parametrize(
    ("name", "make", "problem"),
    [
        ("scan.pdf", lambda: documents.pdf(["", ""]), notices.NO_TEXT),
        ("locked.pdf", lambda: documents.encrypted_pdf(["secret"]), notices.ENCRYPTED),
        ("archive.rar", lambda: b"Rar!\x1a\x07\x00" + b"\0" * 64, notices.UNSUPPORTED_FILE),
        ("old.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64,
         notices.UNSUPPORTED_FILE),
        ("a.zip", lambda: documents.xlsx_file({"S": [["x"]]}).replace(b"xl/", b"yz/"),
         notices.UNSUPPORTED_FILE),
        ("broken.pdf", lambda: b"%PDF-1.4\n" + os.urandom(2000), notices.UNREADABLE),
        ("broken.docx", lambda: documents.docx_file(["x"])[:1500], notices.UNREADABLE),
        ("binary.txt", lambda: b"text\0with a NUL", notices.UNSUPPORTED_FILE),
    ],
)
async def test_a_file_that_cannot_be_read_says_why(extractor, name, make, problem):
    found, reason, seconds, _ = await read(extractor, make(), name)
    assert found == problem, reason
    assert seconds < 5


async def test_a_zip_bomb_is_refused_from_its_declared_sizes(extractor, figures):
    bomb = documents.zip_bomb_docx(200_000_000)
    found, reason, seconds, service_mb = await read(extractor, bomb, "bomb.docx")
    answer, reader_mb = reader_peak_mb(bomb, "bomb.docx")
    assert found == notices.TOO_LARGE and answer["problem"] == notices.TOO_LARGE
    assert seconds < 5 and reader_mb < 150 and service_mb < 5
    figures(
        f"zip bomb ({len(bomb):,} bytes, unzips to 200 MB): refused in {seconds:.2f} s, "
        f"reader peak {reader_mb:.0f} MB, service +{service_mb:.1f} MB"
    )


async def test_a_10000_page_pdf_is_read_to_its_page_cap_with_a_note(extractor, figures):
    big = documents.pdf([f"page {n}" for n in range(1, 10_001)])
    text, left_out, seconds, service_mb = await read(extractor, big, "big.pdf")
    _, reader_mb = reader_peak_mb(big, "big.pdf")
    assert text.startswith("page 1\n") and f"page {document_text.MAX_PAGES}" in text
    assert f"page {document_text.MAX_PAGES + 1}" not in text
    assert left_out == f"pages {document_text.MAX_PAGES + 1} to 10000"
    assert seconds < 20 and reader_mb < 400 and service_mb < 20
    figures(
        f"10,000-page PDF ({len(big):,} bytes): {document_text.MAX_PAGES} pages read in "
        f"{seconds:.1f} s, reader peak {reader_mb:.0f} MB, service +{service_mb:.1f} MB"
    )


async def test_a_sheet_of_a_million_rows_is_read_to_its_row_cap(extractor, figures):
    sheet = documents.xlsx_with_rows(1_000_000)
    text, left_out, seconds, service_mb = await read(extractor, sheet, "million.xlsx")
    _, reader_mb = reader_peak_mb(sheet, "million.xlsx")
    rows = text.splitlines()
    assert rows[1] == "row 1" and rows[-1] == f"row {document_text.MAX_ROWS}"
    assert left_out == f"rows after {document_text.MAX_ROWS} of sheet 'Data'"
    assert seconds < 10 and reader_mb < 300 and service_mb < 20
    figures(
        f"1,000,000-row XLSX ({len(sheet):,} bytes): {document_text.MAX_ROWS} rows read in "
        f"{seconds:.1f} s, reader peak {reader_mb:.0f} MB, service +{service_mb:.1f} MB"
    )


async def test_a_reader_over_its_time_is_stopped(figures):
    slow = SubprocessTextExtractor(timeout_seconds=0.3)
    big = documents.pdf([f"page {n}" for n in range(10_000)])
    found, reason, seconds, _ = await read(slow, big, "big.pdf")
    assert found == notices.TOO_SLOW and "0.3s" in reason
    assert seconds < 1.5
    figures(f"a reader over its 0.3 s stopped after {seconds:.2f} s")


async def test_a_reader_over_its_memory_fails_in_its_own_process():
    tight = SubprocessTextExtractor(memory_mb=60)
    big = documents.pdf([f"page {n}" for n in range(10_000)])
    found, reason, *_ = await read(tight, big, "big.pdf")
    assert (found, reason) == (notices.TOO_LARGE, "needs more than 60 MB")


async def test_the_reader_sees_none_of_the_services_environment(monkeypatch):
    monkeypatch.setenv("WEWORKTOP_CORP_SECRET", "do-not-pass-me")
    monkeypatch.setattr(subprocess_text_extractor, "_PROGRAM", environment_probe.__name__)
    extracted = await SubprocessTextExtractor().extract(b"", "probe.txt")
    seen = json.loads(extracted.text)
    assert "WEWORKTOP_CORP_SECRET" not in seen and "PYTHONPATH" in seen
