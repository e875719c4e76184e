"""The text of a document (PDF, DOCX, XLSX, PPTX, TXT, MD, CSV), read with well-kept libraries
within caps on pages, sheets, rows, unzipped size and collected characters.

Run as a program by SubprocessTextExtractor, one process per file: the file's bytes on stdin,
its name and the memory cap (MB) as arguments, one JSON object on stdout: {"text", "left_out"}
or {"problem", "reason"} (problems are domain.notices' attachment problems), and the peak
memory the reading took ("peak_mb", from /proc where there is one). The process caps
its own address space first, so a document that would take more memory fails here instead of
in the service; the caller stops it when it takes too long.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import resource
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath

from domain import notices

MAX_PAGES = 200  # PDF pages and PPTX slides
MAX_SHEETS = 20
MAX_ROWS = 5_000  # over all sheets
MAX_COLUMNS = 100
MAX_CHARS = 400_000  # more than any prompt takes; the rest is never collected
MAX_UNZIPPED_BYTES = 100_000_000  # what the entries of a DOCX, XLSX or PPTX may add up to
MAX_ZIP_ENTRIES = 10_000
_TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".csv")


class Unusable(Exception):
    def __init__(self, problem: str, reason: str):
        super().__init__(reason)
        self.problem = problem
        self.reason = reason


def extract(data: bytes, name: str) -> tuple[str, str]:
    """(text, what the caps left unread)."""
    if data.startswith(b"%PDF-"):
        text, left_out = _pdf(data)
    elif data.startswith(b"PK\x03\x04"):
        text, left_out = _office(data)
    elif PurePosixPath(name.lower()).suffix in _TEXT_SUFFIXES:
        text, left_out = _plain(data), ""
    else:
        raise Unusable(notices.UNSUPPORTED_FILE, f"'{PurePosixPath(name).suffix}' is not read")
    if not text.strip():
        raise Unusable(notices.NO_TEXT, "no text in the file")
    return text, left_out


class _Collector:
    """Collects text until MAX_CHARS; `full` tells the readers to stop."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._chars = 0

    @property
    def full(self) -> bool:
        return self._chars >= MAX_CHARS

    def add(self, text: str) -> None:
        if text and not self.full:
            self._parts.append(text[: MAX_CHARS - self._chars])
            self._chars += len(self._parts[-1])

    def text(self) -> str:
        return "\n".join(self._parts)


def _pdf(data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            # Many PDFs are encrypted with an empty password, to set permissions only.
            raise Unusable(notices.ENCRYPTED, "the PDF needs a password")
        pages = len(reader.pages)
        collected = _Collector()
        for number in range(min(pages, MAX_PAGES)):
            if collected.full:
                break
            collected.add(reader.pages[number].extract_text() or "")
    except (Unusable, MemoryError):
        raise
    except FileNotDecryptedError:
        raise Unusable(notices.ENCRYPTED, "the PDF needs a password") from None
    except Exception as err:
        # pypdf meets damaged and crafted files with many kinds of error.
        reason = f"not a PDF pypdf reads ({type(err).__name__})"
        raise Unusable(notices.UNREADABLE, reason) from None
    left_out = f"pages {MAX_PAGES + 1} to {pages}" if pages > MAX_PAGES else ""
    return collected.text(), left_out


def _office(data: bytes) -> tuple[str, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as err:
        raise Unusable(notices.UNREADABLE, f"not a zip file ({type(err).__name__})") from None
    # Python's zipfile never inflates an entry past its declared size (a liar fails its
    # CRC), so the declared sizes bound what reading the document can unzip.
    unzipped = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unzipped > MAX_UNZIPPED_BYTES:
        raise Unusable(
            notices.TOO_LARGE, f"{len(entries)} entries unzipping to {unzipped:,} bytes"
        )
    names = {entry.filename for entry in entries}
    readers: dict[str, Callable[[bytes], tuple[str, str]]] = {
        "word/document.xml": _docx,
        "xl/workbook.xml": _xlsx,
        "ppt/presentation.xml": _pptx,
    }
    for marker, reader in readers.items():
        if marker in names:
            try:
                return reader(data)
            except (Unusable, MemoryError):
                raise
            except Exception as err:
                # The office libraries meet damaged parts with many kinds of error.
                reason = f"the document is damaged ({type(err).__name__})"
                raise Unusable(notices.UNREADABLE, reason) from None
    raise Unusable(notices.UNSUPPORTED_FILE, "a zip file that is no DOCX, XLSX or PPTX")


def _docx(data: bytes) -> tuple[str, str]:
    import docx
    from docx.table import Table

    collected = _Collector()
    for block in docx.Document(io.BytesIO(data)).iter_inner_content():
        if collected.full:
            break
        if isinstance(block, Table):
            for row in block.rows:
                collected.add("\t".join(cell.text for cell in row.cells))
        else:
            collected.add(block.text)
    return collected.text(), ""


def _xlsx(data: bytes) -> tuple[str, str]:
    import openpyxl
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    # Loading a sheet looks for its <dimension> tag, and where it is missing (any writer may
    # leave it out) parses the whole sheet first: 20 s for a million rows. Rows are read
    # without knowing the dimension just as well, so the look is skipped.
    ReadOnlyWorksheet._get_size = ReadOnlyWorksheet.reset_dimensions

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    collected = _Collector()
    rows_left = MAX_ROWS
    left_out: list[str] = []
    for index, sheet in enumerate(book.worksheets):
        if index == MAX_SHEETS:
            left_out.append(f"sheets {MAX_SHEETS + 1} to {len(book.worksheets)}")
            break
        collected.add(f"# {sheet.title}")
        read = 0
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            if read == rows_left or collected.full:
                left_out.append(f"rows after {read} of sheet '{sheet.title}'")
                break
            read += 1
            cells = ["" if value is None else str(value) for value in row]
            collected.add("\t".join(cells).rstrip("\t"))
        rows_left -= read
    return collected.text(), "; ".join(left_out)


def _pptx(data: bytes) -> tuple[str, str]:
    from pptx import Presentation

    slides = Presentation(io.BytesIO(data)).slides
    collected = _Collector()
    for number, slide in enumerate(slides, start=1):
        if number > MAX_PAGES or collected.full:
            break
        collected.add(f"# {number}")
        for text in _slide_texts(slide.shapes):
            collected.add(text)
    left_out = f"slides {MAX_PAGES + 1} to {len(slides)}" if len(slides) > MAX_PAGES else ""
    return collected.text(), left_out


def _slide_texts(shapes: Iterable) -> Iterator[str]:
    for shape in shapes:
        if shape.has_text_frame:
            yield shape.text_frame.text
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                yield "\t".join(cell.text for cell in row.cells)


def _plain(data: bytes) -> str:
    if b"\x00" in data:
        raise Unusable(notices.UNSUPPORTED_FILE, "binary content under a text file's name")
    for encoding in ("utf-8-sig", "gb18030"):
        # Incremental: a character cut in two by the slice is not an error.
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            return decoder.decode(data[: MAX_CHARS * 4])[:MAX_CHARS]
        except UnicodeDecodeError:
            continue
    raise Unusable(notices.UNREADABLE, "neither UTF-8 nor GB18030 text")


def main(argv: list[str]) -> int:
    name, memory_mb = argv[1], int(argv[2])
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    data = sys.stdin.buffer.read()
    try:
        text, left_out = extract(data, name)
        answer = {"text": text, "left_out": left_out}
    except Unusable as err:
        answer = {"problem": err.problem, "reason": err.reason}
    except MemoryError:
        answer = {"problem": notices.TOO_LARGE, "reason": f"needs more than {memory_mb} MB"}
    answer["peak_mb"] = _peak_mb()
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))
    return 0


def _peak_mb() -> float | None:
    """This process's peak RSS (VmHWM: since its exec, unlike getrusage's, which counts the
    forked parent's memory too)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(found.group(1)) / 1024, 1) if found else None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
