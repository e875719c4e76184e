"""WeCom's callback XML, read with expat directly: a root `<xml>` whose children are fields.

Both documents of a callback (the envelope and the decrypted message) are that flat, so no
tree is built: defusedxml's ElementTree did it through pure-Python callbacks, half of the
callback's verify + decrypt + parse time. defusedxml's guarantees (forbid_dtd, and with it
forbid_entities and forbid_external) are kept, and named with its exception: a DTD is refused
where it starts, before its internal subset is read. Entities can only be declared in a DTD, so
none is ever expanded (billion laughs) or fetched (external entities, an external DTD); a
reference to an undeclared one is an expat error, like broken markup or junk after the root.
"""

from __future__ import annotations

from xml.parsers.expat import ExpatError, ParserCreate

from defusedxml import DTDForbidden

from adapters.inbound.callback.callback_errors import MalformedCallback


def read_fields(data: bytes, what: str) -> dict[str, str]:
    """Each child of the root `<xml>` of `data` by name: its text, as ElementTree's findtext
    reads it (the text before any element inside it; the first of two same-named children).

    `what` ("envelope", "message") names the document in a refusal's reason.
    """
    try:
        # Decoding first makes any encoding declaration moot: WeCom only speaks UTF-8.
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedCallback(f"{what} is not UTF-8") from None
    fields: dict[str, str] = {}
    root = ""
    depth = 0
    # True from a child's start tag to the next tag: the span whose text is the child's.
    collecting = False
    pieces: list[str] = []

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal depth, root, collecting
        depth += 1
        collecting = depth == 2
        if collecting:
            pieces.clear()
        elif depth == 1:
            root = name

    def end(name: str) -> None:
        nonlocal depth, collecting
        if depth == 2 and name not in fields:
            fields[name] = "".join(pieces)
        depth -= 1
        collecting = False

    def characters(chunk: str) -> None:
        if collecting:
            pieces.append(chunk)

    parser = ParserCreate()
    # One call per run of text instead of one per line or CDATA section.
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(text, True)
    except (ExpatError, DTDForbidden) as exc:
        raise MalformedCallback(f"{what} is not acceptable XML ({type(exc).__name__})") from None
    if root != "xml":
        raise MalformedCallback(f"{what} root element is not <xml>")
    return fields


def _refuse_dtd(name, system_id, public_id, _has_internal_subset):
    raise DTDForbidden(name, system_id, public_id)
