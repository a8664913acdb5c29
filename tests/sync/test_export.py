"""The NetSuite CSV import file: rows, grouping, filtering, quoting, determinism."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from erpsync.errors import ConfigurationError
from erpsync.mapping.fields import FieldMapping
from erpsync.sync.export import NETSUITE_INVOICE_COLUMNS, write_netsuite_invoice_csv

PRODUCTS = {
    "p-api": {"id": "p-api", "name": "API", "custom_fields": {"netsuite_internal_item_id": "86"}},
    "p-sto": {
        "id": "p-sto",
        "name": "Storage",
        "custom_fields": '{"netsuite_internal_item_id": "87"}',
    },
    "p-bad": {"id": "p-bad", "name": "Unmapped"},
}


def invoice(
    invoice_id: str, *lines: dict[str, Any], total: Any = None, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": invoice_id,
        "customer_id": "cust-1",
        "custom_fields": {"netsuite_internal_customer_id": "614"},
        "issued_at": "2024-10-09T00:00:00Z",
        "line_items": list(lines),
        **extra,
    }
    if total is not None:
        data["total"] = total
    return data


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_non_zero_line_grouped_by_external_id() -> None:
    out = io.StringIO()
    report = write_netsuite_invoice_csv(
        [
            invoice(
                "inv-1",
                {
                    "name": 'API calls, batch "A"',
                    "total": "100.5",
                    "quantity": 201,
                    "unit_price": "0.5",
                    "product_id": "p-api",
                },
                {"name": "Free tier", "total": 0, "product_id": "p-api"},
                {"description": "Storage", "total": 30, "product_id": "p-sto"},
                memo="Oct 2024",
            ),
            invoice("inv-2", {"total": 0, "product_id": "p-api"}, total=0),
        ],
        out,
        FieldMapping(),
        products=PRODUCTS,
    )
    text = out.getvalue()
    assert text.splitlines()[0] == ",".join(NETSUITE_INVOICE_COLUMNS)
    assert text.endswith("\r\n")
    assert rows(text) == [
        {
            "External ID": "inv-1",
            "Customer": "614",
            "Date": "10/09/2024",
            "Item": "86",
            "Quantity": "201",
            "Rate": "0.5",
            "Amount": "100.50",
            "Description": 'API calls, batch "A"',
            "Memo": "Oct 2024",
        },
        {
            "External ID": "inv-1",
            "Customer": "614",
            "Date": "10/09/2024",
            "Item": "87",
            "Quantity": "",
            "Rate": "30",
            "Amount": "30.00",
            "Description": "Storage",
            "Memo": "Oct 2024",
        },
    ]
    assert '"API calls, batch ""A"""' in text  # csv quoting, not string pasting
    assert report.rows == 2 and report.invoices == ["inv-1"]
    assert report.zero_lines_dropped == 1
    assert [(d.invoice_id, d.reason) for d in report.dropped] == [
        ("inv-2", "the invoice total is zero")
    ]


def test_unmappable_invoices_are_dropped_with_the_reason_and_the_rest_written() -> None:
    out = io.StringIO()
    report = write_netsuite_invoice_csv(
        [
            invoice("inv-1", {"total": 5, "product_id": "p-bad"}),
            invoice("inv-2", {"total": 5, "product_id": "p-api"}),
            invoice(
                "inv-3",
                {"total": 0, "product_id": "p-api"},
                {"total": 0, "product_id": "p-sto"},
                total=1,
            ),
        ],
        out,
        FieldMapping(),
        products=PRODUCTS,
    )
    assert [r["External ID"] for r in rows(out.getvalue())] == ["inv-2"]
    reasons = {d.invoice_id: d.reason for d in report.dropped}
    assert "netsuite_internal_item_id" in reasons["inv-1"] and "Unmapped" in reasons["inv-1"]
    assert reasons["inv-3"] == "every line amount is zero"


def test_columns_can_be_chosen_and_the_output_is_deterministic(tmp_path: Path) -> None:
    data = [invoice("inv/7", {"total": "9.99", "product_id": "p-api"}, currency="EUR")]
    columns = ["External ID", "Amount", "Currency", "Item"]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_netsuite_invoice_csv(
        data, first, FieldMapping(), products=PRODUCTS, columns=columns, external_id_prefix="m-"
    )
    write_netsuite_invoice_csv(
        data,
        str(second),
        FieldMapping(),
        products=PRODUCTS,
        columns=columns,
        external_id_prefix="m-",
    )
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == b"External ID,Amount,Currency,Item\r\nm-inv_2F7,9.99,EUR,86\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]  # no temp files left


@pytest.mark.parametrize(
    "columns",
    [
        ["Customer", "Amount"],
        ["External ID", "Colour"],
        ["External ID", "External ID"],
        "External ID",
    ],
)
def test_bad_column_templates_are_refused(columns: Any) -> None:
    with pytest.raises(ConfigurationError):
        write_netsuite_invoice_csv([], io.StringIO(), FieldMapping(), columns=columns)


def test_an_unwritable_path_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError):
        write_netsuite_invoice_csv([], blocker / "out.csv", FieldMapping())
