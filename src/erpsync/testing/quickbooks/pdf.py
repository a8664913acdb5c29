"""The invoice PDF QuickBooks renders: number, dates, customer, lines, totals.

Laid out on US Letter with :mod:`erpsync.testing.core.pdf`, paginated when the lines do not
fit, so a client that saves or shows the file gets a real document that names what it
should (tests extract the text and look for the number and the total).
"""

from __future__ import annotations

from typing import Any

from erpsync.testing.core.pdf import PAGE_HEIGHT, TextRun, build_pdf

_LEFT = 54.0
_RIGHT = 558.0
_LINE_HEIGHT = 16.0
_BOTTOM = 90.0


def _amount(value: Any) -> str:
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invoice_pdf(invoice: dict[str, Any], company: dict[str, Any]) -> bytes:
    """The PDF of ``invoice`` issued by ``company`` (a CompanyInfo record)."""
    number = str(invoice.get("DocNumber") or invoice.get("Id", ""))
    currency = str((invoice.get("CurrencyRef") or {}).get("value", "USD"))
    customer = str((invoice.get("CustomerRef") or {}).get("name", ""))
    header = [
        TextRun(_LEFT, PAGE_HEIGHT - 72, str(company.get("CompanyName", "")), 16, bold=True),
        TextRun(_RIGHT - 120, PAGE_HEIGHT - 72, "INVOICE", 16, bold=True),
        TextRun(_LEFT, PAGE_HEIGHT - 110, "BILL TO", 9, bold=True),
        TextRun(_LEFT, PAGE_HEIGHT - 124, customer, 11),
        TextRun(_RIGHT - 200, PAGE_HEIGHT - 110, f"INVOICE # {number}", 10, bold=True),
        TextRun(_RIGHT - 200, PAGE_HEIGHT - 124, f"DATE {invoice.get('TxnDate', '')}", 10),
        TextRun(_RIGHT - 200, PAGE_HEIGHT - 138, f"DUE DATE {invoice.get('DueDate', '')}", 10),
    ]
    columns = [
        TextRun(_LEFT, PAGE_HEIGHT - 180, "DESCRIPTION", 9, bold=True),
        TextRun(330, PAGE_HEIGHT - 180, "QTY", 9, bold=True),
        TextRun(390, PAGE_HEIGHT - 180, "RATE", 9, bold=True),
        TextRun(480, PAGE_HEIGHT - 180, "AMOUNT", 9, bold=True),
    ]
    pages: list[list[TextRun]] = [header + columns]
    y = float(PAGE_HEIGHT - 200)
    for line in invoice.get("Line", []):
        if not isinstance(line, dict) or line.get("DetailType") == "SubTotalLineDetail":
            continue
        detail = line.get("SalesItemLineDetail") or {}
        item = str((detail.get("ItemRef") or {}).get("name", ""))
        description = str(line.get("Description") or item)
        if y < _BOTTOM:
            pages.append(list(columns))
            y = PAGE_HEIGHT - 200
        runs = pages[-1]
        runs.append(TextRun(_LEFT, y, _clip(description, 48), 10))
        if detail.get("Qty") is not None:
            runs.append(TextRun(330, y, str(detail["Qty"]), 10))
        if detail.get("UnitPrice") is not None:
            runs.append(TextRun(390, y, _amount(detail["UnitPrice"]), 10))
        runs.append(TextRun(480, y, _amount(line.get("Amount", 0)), 10))
        y -= _LINE_HEIGHT
    if y < _BOTTOM + 3 * _LINE_HEIGHT:
        pages.append([])
        y = PAGE_HEIGHT - 200
    runs = pages[-1]
    y -= _LINE_HEIGHT
    runs.append(TextRun(390, y, "TOTAL", 10, bold=True))
    runs.append(TextRun(480, y, f"{currency} {_amount(invoice.get('TotalAmt', 0))}", 10, bold=True))
    y -= _LINE_HEIGHT
    runs.append(TextRun(390, y, "BALANCE DUE", 10, bold=True))
    runs.append(TextRun(480, y, f"{currency} {_amount(invoice.get('Balance', 0))}", 10, bold=True))
    if invoice.get("CustomerMemo"):
        memo = invoice["CustomerMemo"]
        text = memo.get("value", "") if isinstance(memo, dict) else str(memo)
        runs.append(TextRun(_LEFT, y - 2 * _LINE_HEIGHT, _clip(str(text), 90), 9))
    return build_pdf(pages, title=f"Invoice {number}")
