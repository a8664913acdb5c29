"""The NetSuite CSV import file: rows, grouping, filtering, quoting, determinism."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


AWKWARD = 'Bolts, M6 "stainless"\nsecond line; Grüße — 東京 ½'


def test_awkward_text_round_trips_through_the_csv_quoting(tmp_path: Path) -> None:
    data = [
        invoice(
            "inv-ü,1",
            {"name": AWKWARD, "total": "12.5", "product_id": "p-api"},
            {"name": "plain", "total": "1", "product_id": "p-sto"},
            memo='Société "Générale", Zürich\r\nPO 7',
            customer_name='Müller, "Maschinenbau" GmbH',
        )
    ]
    path = tmp_path / "out.csv"
    report = write_netsuite_invoice_csv(data, path, FieldMapping(), products=PRODUCTS)
    raw = path.read_bytes()
    assert raw.decode("utf-8")  # written as UTF-8, whatever the platform's default is
    with path.open(encoding="utf-8", newline="") as stream:
        parsed = list(csv.DictReader(stream))
    assert [r["Description"] for r in parsed] == [AWKWARD, "plain"]
    assert {r["Memo"] for r in parsed} == {'Société "Générale", Zürich\r\nPO 7'}
    assert {r["External ID"] for r in parsed} == {"inv-_C3_BC_2C1"}
    assert report.invoices == ["inv-_C3_BC_2C1"] and report.rows == 2
    assert b'"Bolts, M6 ""stainless""\nsecond line' in raw  # RFC 4180 doubling, quoted


def test_the_same_input_gives_byte_identical_files(tmp_path: Path) -> None:
    def data() -> list[dict[str, Any]]:
        return [
            invoice(f"inv-{n}", {"name": AWKWARD, "total": n, "product_id": "p-api"}, memo="ü")
            for n in (3, 1, 2)
        ]

    outputs = []
    for name in ("a.csv", "b.csv"):
        write_netsuite_invoice_csv(data(), tmp_path / name, FieldMapping(), products=PRODUCTS)
        outputs.append((tmp_path / name).read_bytes())
    stream = io.StringIO(newline="")
    write_netsuite_invoice_csv(data(), stream, FieldMapping(), products=PRODUCTS)
    assert outputs[0] == outputs[1] == stream.getvalue().encode("utf-8")
    ids = [r["External ID"] for r in rows(stream.getvalue())]
    assert ids == ["inv-3", "inv-1", "inv-2"]  # input order, not sorted or hashed


def test_zero_totals_and_zero_lines_are_dropped_and_the_report_says_why() -> None:
    out = io.StringIO()
    report = write_netsuite_invoice_csv(
        [
            invoice("zero", {"total": "0.00", "product_id": "p-api"}),
            invoice("empty", total=0),
            invoice(
                "mixed",
                {"total": 0, "product_id": "p-api"},
                {"total": "7", "product_id": "p-sto"},
                {"total": "0.000", "product_id": "p-api"},
            ),
        ],
        out,
        FieldMapping(),
        products=PRODUCTS,
    )
    assert [(r["External ID"], r["Amount"]) for r in rows(out.getvalue())] == [("mixed", "7.00")]
    reasons = {d.invoice_id: d.reason for d in report.dropped}
    assert reasons == {"zero": "the invoice total is zero", "empty": "the invoice total is zero"}
    assert report.zero_lines_dropped == 2 and report.invoices == ["mixed"]


def test_every_line_of_an_invoice_carries_the_same_external_id_and_header() -> None:
    out = io.StringIO()
    lines = [{"name": f"l{n}", "total": n, "product_id": "p-api"} for n in range(1, 6)]
    write_netsuite_invoice_csv(
        [invoice("a", *lines, memo="m"), invoice("b", *lines[:2])],
        out,
        FieldMapping(),
        products=PRODUCTS,
        external_id_prefix="acme:",
    )
    parsed = rows(out.getvalue())
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in parsed:
        grouped.setdefault(row["External ID"], []).append(row)
    assert [len(g) for g in grouped.values()] == [5, 2]
    assert list(grouped) == ["acme_3Aa", "acme_3Ab"]
    for group in grouped.values():
        header = {(r["Customer"], r["Date"], r["Memo"]) for r in group}
        assert len(header) == 1
    # the lines of one invoice are contiguous, so a reader grouping rows sees them together
    assert [r["External ID"] for r in parsed] == ["acme_3Aa"] * 5 + ["acme_3Ab"] * 2


def test_an_invoice_repeated_in_the_input_is_written_once_and_reported() -> None:
    out = io.StringIO()
    line = {"total": "5", "product_id": "p-api"}
    report = write_netsuite_invoice_csv(
        [invoice("inv-1", line), invoice("inv-2", line), invoice("inv-1", line)],
        out,
        FieldMapping(),
        products=PRODUCTS,
    )
    # a second inv-1 would be merged into the first by the Import Assistant's grouping
    assert [r["External ID"] for r in rows(out.getvalue())] == ["inv-1", "inv-2"]
    assert [d.invoice_id for d in report.dropped] == ["inv-1"]
    assert "more than once" in report.dropped[0].reason


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_INVOICE_KEYS = ["id", "customer_id", "custom_fields", "issued_at", "line_items", "total", "memo"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        _JSON
        | st.fixed_dictionaries({}, optional={k: _JSON for k in _INVOICE_KEYS})
        | st.builds(
            lambda extra, lines: {**invoice("inv-x", *lines), **extra},
            st.dictionaries(st.sampled_from(_INVOICE_KEYS), _JSON, max_size=2),
            st.lists(
                st.dictionaries(
                    st.sampled_from(["total", "product_id", "quantity", "unit_price", "name"]),
                    _JSON | st.just("p-api"),
                    max_size=5,
                ),
                max_size=3,
            ),
        ),
        max_size=4,
    )
)
def test_arbitrary_export_rows_are_dropped_with_a_reason_never_a_crash(data: list[Any]) -> None:
    out = io.StringIO()
    report = write_netsuite_invoice_csv(data, out, FieldMapping(), products=PRODUCTS)
    assert len(report.invoices) + len(report.dropped) == len(data)
    assert len(rows(out.getvalue())) == report.rows


def test_a_line_whose_amount_is_not_quantity_times_price_is_dropped() -> None:
    # 120000 x 0.002 = 240.00, not 260.00: the webhook path refuses this line, so must
    # the import template.
    out = io.StringIO()
    report = write_netsuite_invoice_csv(
        [
            invoice(
                "inv-1",
                {
                    "total": "260.00",
                    "quantity": 120000,
                    "unit_price": "0.002",
                    "product_id": "p-api",
                },
            ),
            invoice("inv-2", {"total": 5, "product_id": "p-api"}),
        ],
        out,
        FieldMapping(),
        products=PRODUCTS,
    )
    assert [r["External ID"] for r in rows(out.getvalue())] == ["inv-2"]
    (dropped,) = report.dropped
    assert dropped.invoice_id == "inv-1" and "does not equal quantity" in dropped.reason
