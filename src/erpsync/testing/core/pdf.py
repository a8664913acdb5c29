"""A minimal PDF 1.4 writer: pages of positioned Helvetica text, nothing more.

The emulators must answer an invoice PDF request with a document a real reader opens
(clients store these and show them to people), without a new dependency for it. The
subset needed is small: the two standard Helvetica fonts (every reader has them, so
nothing is embedded), text placed at coordinates in points, and a cross-reference
table whose byte offsets are exact, because strict readers reject a file whose
``xref`` does not point at its objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PAGE_HEIGHT", "PAGE_WIDTH", "TextRun", "build_pdf", "escape_text"]

#: US Letter, in points.
PAGE_WIDTH = 612
PAGE_HEIGHT = 792


@dataclass(frozen=True)
class TextRun:
    """One piece of text whose baseline starts at (``x``, ``y``) points from bottom-left."""

    x: float
    y: float
    text: str
    size: float = 10.0
    bold: bool = False


def escape_text(text: str) -> bytes:
    """``text`` as a PDF literal string body in WinAnsi, with ``\\``, ``(``, ``)`` escaped.

    Characters WinAnsi cannot show become ``?`` rather than breaking the file; control
    characters become spaces so that a value cannot end the string or the line early.
    """
    cleaned = "".join(" " if ord(ch) < 32 else ch for ch in text)
    raw = cleaned.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _number(value: float) -> bytes:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return (text or "0").encode("ascii")


def _content(runs: Sequence[TextRun]) -> bytes:
    parts: list[bytes] = []
    for run in runs:
        font = b"/F2" if run.bold else b"/F1"
        parts.append(
            b"BT "
            + font
            + b" "
            + _number(run.size)
            + b" Tf "
            + _number(run.x)
            + b" "
            + _number(run.y)
            + b" Td ("
            + escape_text(run.text)
            + b") Tj ET"
        )
    return b"\n".join(parts) + b"\n"


def build_pdf(pages: Sequence[Sequence[TextRun]], *, title: str | None = None) -> bytes:
    """A complete PDF file with one page per entry of ``pages`` (at least one page)."""
    page_list = list(pages) or [[]]
    # Object numbers: 1 catalog, 2 page tree, 3 Helvetica, 4 Helvetica-Bold, 5 info,
    # then for each page a page object and its content stream.
    objects: dict[int, bytes] = {}
    first_page = 6
    kids = [first_page + 2 * i for i in range(len(page_list))]
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = (
        b"<< /Type /Pages /Kids ["
        + b" ".join(str(k).encode() + b" 0 R" for k in kids)
        + b"] /Count "
        + str(len(kids)).encode()
        + b" >>"
    )
    objects[3] = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    objects[4] = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
    )
    objects[5] = b"<< /Producer (erpsync) /Title (" + escape_text(title or "") + b") >>"
    for index, runs in enumerate(page_list):
        page_number = first_page + 2 * index
        stream = _content(runs)
        objects[page_number] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 "
            + str(PAGE_WIDTH).encode()
            + b" "
            + str(PAGE_HEIGHT).encode()
            + b"] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents "
            + str(page_number + 1).encode()
            + b" 0 R >>"
        )
        objects[page_number + 1] = (
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"endstream"
        )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += str(number).encode() + b" 0 obj\n" + objects[number] + b"\nendobj\n"
    xref_at = len(out)
    size = max(objects) + 1
    out += b"xref\n0 " + str(size).encode() + b"\n"
    out += b"0000000000 65535 f \n"
    for number in range(1, size):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += (
        b"trailer\n<< /Size " + str(size).encode() + b" /Root 1 0 R /Info 5 0 R >>\n"
        b"startxref\n" + str(xref_at).encode() + b"\n%%EOF\n"
    )
    return bytes(out)
