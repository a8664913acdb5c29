"""The invoice PDF a NetSuite account renders (``N/render`` with the standard form).

Laid out on US Letter with :mod:`erpsync.testing.core.pdf`, paginated when the lines do not
fit, from the invoice as ``GET .../invoice/{id}?expandSubResources=true`` shows it, so a
client that saves or shows the file gets a real document naming the document number,
date, customer, lines and total (tests extract the text and look for them).
"""

from __future__ import annotations

from typing import Any

from erpsync.testing.core.pdf import PAGE_HEIGHT, TextRun, build_pdf

__all__ = ["invoice_pdf"]

_LEFT = 54.0
_RIGHT = 558.0
_LINE_HEIGHT = 16.0
_BOTTOM = 90.0
_TOP = PAGE_HEIGHT - 200.0


def _amount(value: Any) -> str:
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def _quantity(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:g}"


def _ref_name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("refName") or value.get("id") or "")
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invoice_pdf(invoice: dict[str, Any], company: str, currency: str) -> bytes:
    """The PDF of ``invoice`` (expanded REST JSON) issued by ``company`` in ``currency``
    (an ISO code: the REST ``currency.refName`` is NetSuite's currency *name*)."""
    number = str(invoice.get("tranId") or invoice.get("id", ""))
    header = [
        TextRun(_LEFT, PAGE_HEIGHT - 72, company, 16, bold=True),
        TextRun(_RIGHT - 120, PAGE_HEIGHT - 72, "Invoice", 16, bold=True),
        TextRun(_LEFT, PAGE_HEIGHT - 110, "Bill To", 9, bold=True),
        TextRun(_LEFT, PAGE_HEIGHT - 124, _ref_name(invoice.get("entity")), 11),
        TextRun(_RIGHT - 200, PAGE_HEIGHT - 110, f"Invoice # {number}", 10, bold=True),
        TextRun(_RIGHT - 200, PAGE_HEIGHT - 124, f"Date {invoice.get('tranDate', '')}", 10),
        TextRun(_RIGHT - 200, PAGE_HEIGHT - 138, f"Due Date {invoice.get('dueDate', '')}", 10),
    ]
    columns = [
        TextRun(_LEFT, PAGE_HEIGHT - 180, "Item", 9, bold=True),
        TextRun(170, PAGE_HEIGHT - 180, "Description", 9, bold=True),
        TextRun(340, PAGE_HEIGHT - 180, "Quantity", 9, bold=True),
        TextRun(400, PAGE_HEIGHT - 180, "Rate", 9, bold=True),
        TextRun(480, PAGE_HEIGHT - 180, "Amount", 9, bold=True),
    ]
    pages: list[list[TextRun]] = [header + columns]
    y = _TOP
    sublist = invoice.get("item")
    lines = sublist.get("items", []) if isinstance(sublist, dict) else []
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        if y < _BOTTOM:
            pages.append(list(columns))
            y = _TOP
        runs = pages[-1]
        runs.append(TextRun(_LEFT, y, _clip(_ref_name(line.get("item")), 20), 10))
        runs.append(TextRun(170, y, _clip(str(line.get("description") or ""), 30), 10))
        if line.get("quantity") is not None:
            runs.append(TextRun(340, y, _quantity(line["quantity"]), 10))
        if line.get("rate") is not None:
            runs.append(TextRun(400, y, _amount(line["rate"]), 10))
        runs.append(TextRun(480, y, _amount(line.get("amount", 0)), 10))
        y -= _LINE_HEIGHT
    if y < _BOTTOM + 3 * _LINE_HEIGHT:
        pages.append([])
        y = _TOP
    runs = pages[-1]
    y -= _LINE_HEIGHT
    runs.append(TextRun(400, y, "Total", 10, bold=True))
    runs.append(TextRun(480, y, f"{currency} {_amount(invoice.get('total', 0))}", 10, bold=True))
    y -= _LINE_HEIGHT
    runs.append(TextRun(400, y, "Amount Due", 10, bold=True))
    runs.append(
        TextRun(480, y, f"{currency} {_amount(invoice.get('amountRemaining', 0))}", 10, bold=True)
    )
    if invoice.get("memo"):
        runs.append(TextRun(_LEFT, y - 2 * _LINE_HEIGHT, _clip(str(invoice["memo"]), 90), 9))
    return build_pdf(pages, title=f"Invoice {number}")
