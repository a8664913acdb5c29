"""FakeQuickBooks' data API: entities, business rules, idempotency, over raw HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.quickbooks import FakeQuickBooks


class Api:
    """Bare ``requests`` calls to the emulated company, as a user's own code makes them."""

    def __init__(self, fake: FakeQuickBooks) -> None:
        self.fake = fake
        self.base = f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}"
        self.headers = {
            "Authorization": f"Bearer {fake.credentials.access_token}",
            "Accept": "application/json",
        }

    def post(self, path: str, body: Any, **params: str) -> requests.Response:
        return requests.post(
            self.base + path,
            json=body,
            params={"minorversion": "75", **params},
            headers=self.headers,
        )

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(self.base + path, params=params, headers=self.headers)

    def ok(self, response: requests.Response, entity: str) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        return response.json()[entity]

    def create(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        return self.ok(self.post("/" + entity.lower(), body, **params), entity)


def fault(response: requests.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"Fault", "time"}
    assert body["Fault"]["type"] in ("ValidationFault", "SystemFault")
    error = body["Fault"]["Error"][0]
    assert set(error) == {"Message", "Detail", "code", "element"}
    return error


def sales_line(amount: float, item: str = "1", **detail: Any) -> dict[str, Any]:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "Description": f"Work worth {amount}",
        "SalesItemLineDetail": {
            "ItemRef": {"value": item},
            "TaxCodeRef": {"value": "NON"},
            **detail,
        },
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock):
    emulator = FakeQuickBooks(clock=clock, governance=None)
    with emulator:
        yield emulator


@pytest.fixture
def api(fake: FakeQuickBooks) -> Api:
    return Api(fake)


def invoice(api: Api, *amounts: float, customer: str = "1", **fields: Any) -> dict[str, Any]:
    body = {"CustomerRef": {"value": customer}, "Line": [sales_line(a) for a in amounts], **fields}
    return api.create("Invoice", body)


# -- seed data ------------------------------------------------------------------------------


def test_seed_company_has_the_sandbox_books(fake, api):
    info = api.ok(api.get(f"/companyinfo/{fake.realm_id}"), "CompanyInfo")
    assert info["CompanyName"] == "Sandbox Company_US_1"
    assert len(fake.records("Customer")) == 4
    assert len(fake.records("Vendor")) == 2
    assert {i["Type"] for i in fake.records("Item")} == {"Service", "NonInventory", "Inventory"}
    assert any(a["AccountType"] == "Accounts Payable" for a in fake.records("Account"))
    prefs = api.ok(api.get("/preferences"), "Preferences")
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    assert prefs["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"


def test_seed_data_can_be_left_out(clock):
    fake = FakeQuickBooks(clock=clock, seed_data=False)
    assert fake.records("Customer") == []
    assert fake.records("Item") == []
    assert fake.records("Preferences")


def test_records_are_deep_copies_and_unknown_entities_are_refused(fake):
    rows = fake.records("Customer")
    rows[0]["DisplayName"] = "changed"
    assert fake.records("Customer")[0]["DisplayName"] != "changed"
    with pytest.raises(ConfigurationError):
        fake.records("Spaceship")


# -- create, read, update -------------------------------------------------------------------


def test_create_assigns_id_synctoken_and_metadata_from_the_clock(api, clock):
    clock.advance(1800)
    customer = api.create(
        "Customer",
        {
            "DisplayName": "Acme Rockets",
            "Id": None,
            "SyncToken": "7",
            "MetaData": {"CreateTime": "x"},
        },
    )
    assert customer["SyncToken"] == "0"
    assert customer["Id"].isdigit()
    assert customer["MetaData"]["CreateTime"] == "2026-10-31T17:30:00-07:00"
    assert customer["MetaData"]["LastUpdatedTime"] == customer["MetaData"]["CreateTime"]
    again = api.ok(api.get(f"/customer/{customer['Id']}"), "Customer")
    assert again == customer


def test_reading_a_missing_record_is_610(api):
    error = fault(api.get("/customer/9999"))
    assert error["code"] == "610"
    assert error["Message"] == "Object Not Found"


def test_sparse_update_keeps_omitted_fields(api, clock):
    created = api.create(
        "Customer", {"DisplayName": "Sparse Co", "PrimaryEmailAddr": {"Address": "a@b.example"}}
    )
    clock.advance(60)
    updated = api.create(
        "Customer",
        {"Id": created["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "Sparse Company"},
    )
    assert updated["SyncToken"] == "1"
    assert updated["PrimaryEmailAddr"] == {"Address": "a@b.example"}
    assert updated["CompanyName"] == "Sparse Company"
    assert updated["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]
    assert updated["MetaData"]["LastUpdatedTime"] > created["MetaData"]["LastUpdatedTime"]


def test_full_update_nulls_omitted_writable_fields(api):
    created = api.create(
        "Customer", {"DisplayName": "Full Co", "PrimaryEmailAddr": {"Address": "a@b.example"}}
    )
    updated = api.create(
        "Customer", {"Id": created["Id"], "SyncToken": "0", "DisplayName": "Full Co"}
    )
    assert "PrimaryEmailAddr" not in updated
    assert updated["DisplayName"] == "Full Co"


def test_full_invoice_update_forgets_what_it_does_not_repeat(api):
    created = invoice(api, 10, PrivateNote="internal", CustomerMemo={"value": "Thanks"})
    updated = api.create(
        "Invoice",
        {
            "Id": created["Id"],
            "SyncToken": "0",
            "CustomerRef": {"value": "1"},
            "Line": [sales_line(30)],
            "DocNumber": created["DocNumber"],
        },
    )
    assert "PrivateNote" not in updated
    assert "CustomerMemo" not in updated
    assert updated["TotalAmt"] == 30
    assert updated["DocNumber"] == created["DocNumber"]


def test_stale_synctoken_is_5010(api):
    created = api.create("Vendor", {"DisplayName": "Stale Supplies"})
    api.create(
        "Vendor", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "A"}
    )
    error = fault(
        api.post(
            "/vendor", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "B"}
        )
    )
    assert error["code"] == "5010"
    assert error["Message"] == "Stale Object Error"


def test_update_needs_a_synctoken(api):
    created = api.create("Vendor", {"DisplayName": "No Token Ltd"})
    error = fault(api.post("/vendor", {"Id": created["Id"], "sparse": True, "CompanyName": "B"}))
    assert error["code"] == "2020"
    assert error["element"] == "SyncToken"


def test_malformed_json_is_a_validation_fault(api):
    response = requests.post(
        api.base + "/customer",
        data=b"{not json",
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert fault(response)["code"] == "2010"


# -- names --------------------------------------------------------------------------------


def test_display_names_are_unique_across_customers_and_vendors(api):
    error = fault(api.post("/vendor", {"DisplayName": "amy's bird sanctuary"}))
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"
    assert error["Detail"] == (
        "The name supplied already exists. : Another customer is already using this name."
    )
    assert error["element"] == ""
    error = fault(api.post("/customer", {"DisplayName": "Books by Bessie"}))
    assert error["Detail"] == (
        "The name supplied already exists. : Another vendor is already using this name."
    )


def test_display_name_is_derived_from_the_person_when_absent(api):
    customer = api.create("Customer", {"GivenName": "Ada", "FamilyName": "Lovelace"})
    assert customer["DisplayName"] == "Ada Lovelace"
    error = fault(api.post("/customer", {"Notes": "no name at all"}))
    assert error["code"] == "2020"


def test_names_cannot_hold_a_colon(api):
    assert fault(api.post("/customer", {"DisplayName": "Parent:Child"}))["code"] == "2010"


def test_making_a_name_inactive_is_its_delete_and_frees_the_name(api):
    customer = api.create("Customer", {"DisplayName": "Gone Soon"})
    deleted = api.create(
        "Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert deleted["Active"] is False
    assert deleted["DisplayName"] == "Gone Soon (deleted)"
    assert api.create("Customer", {"DisplayName": "Gone Soon"})["Id"] != customer["Id"]


def test_customers_cannot_be_deleted_outright(api):
    error = fault(api.post("/customer", {"Id": "1", "SyncToken": "0"}, operation="delete"))
    assert error["code"] == "500"
    assert error["Message"] == "Unsupported Operation"


def test_customer_currency_is_fixed_once_set(api):
    customer = api.create("Customer", {"DisplayName": "Dollar Shop"})
    error = fault(
        api.post(
            "/customer",
            {
                "Id": customer["Id"],
                "SyncToken": "0",
                "sparse": True,
                "CurrencyRef": {"value": "EUR"},
            },
        )
    )
    assert error["code"] == "6000"
    assert error["element"] == "CurrencyRef"


def test_foreign_currency_customers_need_multicurrency(api):
    error = fault(
        api.post("/customer", {"DisplayName": "Euro Shop", "CurrencyRef": {"value": "EUR"}})
    )
    assert error["code"] == "6000"
    assert "multicurrency" in error["Detail"]


# -- items --------------------------------------------------------------------------------


def test_items_need_a_unique_name_and_their_accounts(api):
    assert (
        fault(
            api.post(
                "/item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
            )
        )["code"]
        == "6240"
    )
    missing = fault(api.post("/item", {"Name": "Consulting", "Type": "Service"}))
    assert (missing["code"], missing["element"]) == ("2020", "IncomeAccountRef")
    assert (
        fault(
            api.post(
                "/item",
                {"Name": "Consulting", "Type": "Service", "IncomeAccountRef": {"value": "999"}},
            )
        )["code"]
        == "610"
    )
    item = api.create(
        "Item", {"Name": "Consulting", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
    )
    assert item["IncomeAccountRef"] == {"value": "2", "name": "Services"}
    assert item["TrackQtyOnHand"] is False


def test_deactivating_an_item_renames_it_and_frees_the_name(api):
    item = api.create(
        "Item", {"Name": "Old Service", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
    )
    gone = api.create("Item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert (gone["Name"], gone["Active"]) == ("Old Service (deleted)", False)
    again = api.create(
        "Item", {"Name": "Old Service", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
    )
    assert again["Id"] != item["Id"]
    error = fault(
        api.post(
            "/invoice", {"CustomerRef": {"value": "1"}, "Line": [sales_line(5, item=item["Id"])]}
        )
    )
    assert error["code"] == "610"


def test_inventory_items_need_asset_expense_and_start_date(api):
    body = {
        "Name": "Widget",
        "Type": "Inventory",
        "IncomeAccountRef": {"value": "1"},
        "ExpenseAccountRef": {"value": "3"},
        "AssetAccountRef": {"value": "4"},
        "QtyOnHand": 5,
    }
    assert fault(api.post("/item", body))["element"] == "InvStartDate"
    item = api.create("Item", {**body, "InvStartDate": "2026-10-01"})
    assert item["TrackQtyOnHand"] is True
    assert item["QtyOnHand"] == 5
    assert fault(api.post("/item", {**body, "Name": "Gadget", "Type": "Bundle"}))["code"] == "2010"


# -- invoices -----------------------------------------------------------------------------


def test_invoice_totals_are_computed_and_a_subtotal_line_appended(api):
    created = invoice(api, 100.0, 250.5, TotalAmt=1, Balance=1)
    assert created["TotalAmt"] == 350.5
    assert created["Balance"] == 350.5
    assert created["Line"][-1] == {
        "Amount": 350.5,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert [line["Id"] for line in created["Line"][:-1]] == ["1", "2"]
    assert created["CustomerRef"] == {"value": "1", "name": "Amy's Bird Sanctuary"}
    assert created["Line"][0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Services"


def test_amounts_may_arrive_as_strings(api):
    created = invoice(api, "99.90")
    assert created["TotalAmt"] == 99.9


def test_invoice_requires_customer_and_lines(api):
    no_customer = fault(api.post("/invoice", {"Line": [sales_line(10)]}))
    assert (no_customer["code"], no_customer["element"]) == ("2020", "CustomerRef")
    no_lines = fault(api.post("/invoice", {"CustomerRef": {"value": "1"}}))
    assert (no_lines["code"], no_lines["element"]) == ("2020", "Line")
    assert (
        fault(api.post("/invoice", {"CustomerRef": {"value": "1"}, "Line": []}))["element"]
        == "Line"
    )


def test_invoice_references_must_exist_and_be_active(api):
    assert (
        fault(api.post("/invoice", {"CustomerRef": {"value": "404"}, "Line": [sales_line(1)]}))[
            "code"
        ]
        == "610"
    )
    assert (
        fault(
            api.post(
                "/invoice", {"CustomerRef": {"value": "1"}, "Line": [sales_line(1, item="77")]}
            )
        )["code"]
        == "610"
    )
    api.create("Customer", {"Id": "2", "SyncToken": "0", "sparse": True, "Active": False})
    error = fault(api.post("/invoice", {"CustomerRef": {"value": "2"}, "Line": [sales_line(1)]}))
    assert error["code"] == "610"
    assert "made inactive" in error["Detail"]


def test_amount_must_equal_quantity_times_price(api):
    error = fault(
        api.post(
            "/invoice",
            {"CustomerRef": {"value": "1"}, "Line": [sales_line(100, Qty=2, UnitPrice=60)]},
        )
    )
    assert error["code"] == "6070"
    assert invoice(api, 120)["TotalAmt"] == 120


def test_doc_numbers_are_assigned_in_sequence(api):
    assert [invoice(api, 1)["DocNumber"] for _ in range(3)] == ["1001", "1002", "1003"]


def test_custom_transaction_numbers_mean_no_automatic_number(api):
    prefs = api.ok(api.get("/preferences"), "Preferences")
    api.ok(
        api.post(
            "/preferences",
            {
                "Id": prefs["Id"],
                "SyncToken": prefs["SyncToken"],
                "sparse": True,
                "SalesFormsPrefs": {"CustomTxnNumbers": True},
            },
        ),
        "Preferences",
    )
    assert "DocNumber" not in invoice(api, 5)
    assert invoice(api, 5, DocNumber="JOB-1042")["DocNumber"] == "JOB-1042"
    again = api.ok(api.get("/preferences"), "Preferences")
    assert again["SalesFormsPrefs"]["AllowDiscount"] is True  # the sparse update merged


def test_duplicate_doc_number_names_the_existing_transaction(api):
    first = invoice(api, 10, DocNumber="INV-7")
    error = fault(
        api.post(
            "/invoice",
            {"CustomerRef": {"value": "1"}, "Line": [sales_line(1)], "DocNumber": "INV-7"},
        )
    )
    assert error["code"] == "6140"
    assert error["Message"] == "Duplicate Document Number Error"
    assert (
        f"DocNumber=INV-7 is assigned to TxnType=Invoice with TxnId={first['Id']}"
        in error["Detail"]
    )
    allowed = api.create(
        "Invoice",
        {"CustomerRef": {"value": "1"}, "Line": [sales_line(1)], "DocNumber": "INV-7"},
        include="allowduplicatedocnum",
    )
    assert allowed["DocNumber"] == "INV-7"


def test_doc_number_is_at_most_21_characters(api):
    error = fault(
        api.post(
            "/invoice",
            {"CustomerRef": {"value": "1"}, "Line": [sales_line(1)], "DocNumber": "X" * 22},
        )
    )
    assert (error["code"], error["element"]) == ("2050", "DocNumber")


def test_invalid_dates_are_refused_and_empty_ones_ignored(api, clock):
    assert (
        fault(
            api.post(
                "/invoice",
                {"CustomerRef": {"value": "1"}, "Line": [sales_line(1)], "TxnDate": "11/03/2026"},
            )
        )["element"]
        == "TxnDate"
    )
    created = invoice(api, 1, TxnDate="", DueDate="2026-12-01")
    assert created["TxnDate"] == "2026-10-31"  # company-local date of the clock
    assert created["DueDate"] == "2026-12-01"


def test_multicurrency_requires_currency_ref_for_foreign_customers(api):
    prefs = api.ok(api.get("/preferences"), "Preferences")
    api.ok(
        api.post(
            "/preferences",
            {
                "Id": prefs["Id"],
                "SyncToken": prefs["SyncToken"],
                "sparse": True,
                "CurrencyPrefs": {"MultiCurrencyEnabled": True},
            },
        ),
        "Preferences",
    )
    euro = api.create("Customer", {"DisplayName": "Euro GmbH", "CurrencyRef": {"value": "EUR"}})
    error = fault(
        api.post("/invoice", {"CustomerRef": {"value": euro["Id"]}, "Line": [sales_line(100)]})
    )
    assert (error["code"], error["element"]) == ("6000", "CurrencyRef")
    wrong = fault(
        api.post(
            "/invoice",
            {
                "CustomerRef": {"value": euro["Id"]},
                "Line": [sales_line(100)],
                "CurrencyRef": {"value": "GBP"},
            },
        )
    )
    assert wrong["element"] == "CurrencyRef"
    created = invoice(api, 100, customer=euro["Id"], CurrencyRef={"value": "EUR"}, ExchangeRate=1.1)
    assert created["CurrencyRef"]["value"] == "EUR"
    assert created["HomeTotalAmt"] == 110.0
    assert invoice(api, 5)["CurrencyRef"]["value"] == "USD"  # home-currency customers need nothing
    again = api.ok(api.get("/preferences"), "Preferences")
    off = fault(
        api.post(
            "/preferences",
            {
                "Id": again["Id"],
                "SyncToken": again["SyncToken"],
                "sparse": True,
                "CurrencyPrefs": {"MultiCurrencyEnabled": False},
            },
        )
    )
    assert off["code"] == "6000"


def test_preferences_update_checks_the_synctoken(api):
    assert (
        fault(
            api.post(
                "/preferences",
                {
                    "Id": "1",
                    "SyncToken": "9",
                    "sparse": True,
                    "SalesFormsPrefs": {"CustomTxnNumbers": True},
                },
            )
        )["code"]
        == "5010"
    )


def test_invoice_delete_answers_a_tombstone(api):
    created = invoice(api, 10)
    response = api.post("/invoice", {"Id": created["Id"], "SyncToken": "0"}, operation="delete")
    assert api.ok(response, "Invoice") == {
        "status": "Deleted",
        "domain": "QBO",
        "Id": created["Id"],
    }
    assert fault(api.get(f"/invoice/{created['Id']}"))["code"] == "610"


def test_invoice_void_zeroes_the_amounts_and_keeps_the_number(api):
    created = invoice(api, 10, 20)
    voided = api.ok(
        api.post("/invoice", {"Id": created["Id"], "SyncToken": "0"}, operation="void"), "Invoice"
    )
    assert voided["TotalAmt"] == 0
    assert voided["Balance"] == 0
    assert voided["DocNumber"] == created["DocNumber"]
    assert voided["PrivateNote"] == "Voided"
    assert voided["SyncToken"] == "1"


def test_invoice_send_marks_it_emailed(api):
    created = invoice(api, 10)
    assert (
        fault(requests.post(f"{api.base}/invoice/{created['Id']}/send", headers=api.headers))[
            "element"
        ]
        == "BillEmail"
    )
    sent = api.ok(
        requests.post(
            f"{api.base}/invoice/{created['Id']}/send",
            params={"sendTo": "ap@example.com"},
            headers=api.headers,
        ),
        "Invoice",
    )
    assert sent["EmailStatus"] == "EmailSent"
    assert sent["BillEmail"] == {"Address": "ap@example.com"}


# -- payments -----------------------------------------------------------------------------


def payment(
    api: Api, total: float, *applied: tuple[str, float], customer: str = "1"
) -> requests.Response:
    lines = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": "Invoice"}]}
        for txn, amount in applied
    ]
    return api.post(
        "/payment", {"CustomerRef": {"value": customer}, "TotalAmt": total, "Line": lines}
    )


def test_payments_reduce_invoice_balances(api, fake):
    first, second = invoice(api, 100), invoice(api, 50)
    paid = api.ok(payment(api, 200, (first["Id"], 100), (second["Id"], 20)), "Payment")
    assert paid["UnappliedAmt"] == 80
    assert paid["TotalAmt"] == 200
    first_now = api.ok(api.get(f"/invoice/{first['Id']}"), "Invoice")
    second_now = api.ok(api.get(f"/invoice/{second['Id']}"), "Invoice")
    assert first_now["Balance"] == 0
    assert second_now["Balance"] == 30
    assert first_now["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "Payment"}]
    assert first_now["SyncToken"] == "1"  # applying a payment makes a new version
    amy = api.ok(api.get("/customer/1"), "Customer")
    assert amy["Balance"] == 30 - 80  # open invoices less unapplied cash


def test_over_application_is_refused(api):
    inv = invoice(api, 100)
    assert fault(payment(api, 500, (inv["Id"], 100.01)))["code"] == "6000"
    assert fault(payment(api, 50, (inv["Id"], 60)))["element"] == "TotalAmt"
    api.ok(payment(api, 70, (inv["Id"], 70)), "Payment")
    assert fault(payment(api, 40, (inv["Id"], 40)))["code"] == "6000"  # only 30 left open


def test_payments_apply_only_to_their_customers_invoices(api):
    inv = invoice(api, 100, customer="1")
    assert fault(payment(api, 100, (inv["Id"], 100), customer="2"))["code"] == "6000"
    assert fault(payment(api, 100, ("9999", 100)))["code"] == "610"


def test_payment_requires_customer_and_total(api):
    assert fault(api.post("/payment", {"CustomerRef": {"value": "1"}}))["element"] == "TotalAmt"
    assert fault(api.post("/payment", {"TotalAmt": 5}))["element"] == "CustomerRef"


def test_deleting_or_voiding_a_payment_reopens_the_invoice(api):
    inv = invoice(api, 100)
    first = api.ok(payment(api, 100, (inv["Id"], 100)), "Payment")
    api.ok(
        api.post("/payment", {"Id": first["Id"], "SyncToken": "0"}, operation="delete"), "Payment"
    )
    reopened = api.ok(api.get(f"/invoice/{inv['Id']}"), "Invoice")
    assert reopened["Balance"] == 100
    assert "LinkedTxn" not in reopened
    second = api.ok(payment(api, 100, (inv["Id"], 100)), "Payment")
    voided = api.ok(
        api.post(
            "/payment",
            {"Id": second["Id"], "SyncToken": "0", "sparse": True},
            operation="update",
            include="void",
        ),
        "Payment",
    )
    assert voided["TotalAmt"] == 0
    assert api.ok(api.get(f"/invoice/{inv['Id']}"), "Invoice")["Balance"] == 100


def test_deleting_an_invoice_releases_its_payments(api):
    inv = invoice(api, 100)
    paid = api.ok(payment(api, 100, (inv["Id"], 100)), "Payment")
    current = api.ok(api.get(f"/invoice/{inv['Id']}"), "Invoice")
    api.ok(
        api.post(
            "/invoice", {"Id": inv["Id"], "SyncToken": current["SyncToken"]}, operation="delete"
        ),
        "Invoice",
    )
    released = api.ok(api.get(f"/payment/{paid['Id']}"), "Payment")
    assert released["UnappliedAmt"] == 100
    assert released["Line"] == []


def test_an_invoice_cannot_shrink_below_what_was_paid(api):
    inv = invoice(api, 100)
    api.ok(payment(api, 80, (inv["Id"], 80)), "Payment")
    current = api.ok(api.get(f"/invoice/{inv['Id']}"), "Invoice")
    error = fault(
        api.post(
            "/invoice",
            {
                "Id": inv["Id"],
                "SyncToken": current["SyncToken"],
                "sparse": True,
                "Line": [sales_line(50)],
            },
        )
    )
    assert error["code"] == "6000"


# -- purchase orders ----------------------------------------------------------------------


def test_purchase_orders(api):
    line = {
        "DetailType": "ItemBasedExpenseLineDetail",
        "Amount": 40,
        "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "3"}, "Qty": 4, "UnitPrice": 10},
    }
    assert fault(api.post("/purchaseorder", {"Line": [line]}))["element"] == "VendorRef"
    po = api.create("PurchaseOrder", {"VendorRef": {"value": "1"}, "Line": [line]})
    assert po["APAccountRef"]["name"] == "Accounts Payable (A/P)"
    assert po["POStatus"] == "Open"
    assert po["TotalAmt"] == 40
    assert po["DocNumber"] == "1001"
    closed = api.create(
        "PurchaseOrder", {"Id": po["Id"], "SyncToken": "0", "sparse": True, "POStatus": "Closed"}
    )
    assert closed["POStatus"] == "Closed"
    assert (
        fault(api.post("/purchaseorder", {"Id": po["Id"], "SyncToken": "1"}, operation="void"))[
            "code"
        ]
        == "500"
    )
    assert (
        fault(
            api.post(
                "/purchaseorder",
                {"VendorRef": {"value": "1"}, "Line": [line], "APAccountRef": {"value": "2"}},
            )
        )["element"]
        == "APAccountRef"
    )
    deleted = api.ok(
        api.post("/purchaseorder", {"Id": po["Id"], "SyncToken": "1"}, operation="delete"),
        "PurchaseOrder",
    )
    assert deleted["status"] == "Deleted"


# -- idempotency, minorversion, headers -----------------------------------------------------


def test_requestid_replays_the_original_answer_without_writing_again(api, fake, clock):
    body = {"CustomerRef": {"value": "1"}, "Line": [sales_line(42)]}
    first = api.post("/invoice", body, requestid="req-0001")
    clock.advance(5)
    second = api.post("/invoice", {**body, "Line": [sales_line(99)]}, requestid="req-0001")
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    assert len(fake.records("Invoice")) == 1
    assert (
        api.post("/invoice", body, requestid="req-0002").json()["Invoice"]["Id"]
        != first.json()["Invoice"]["Id"]
    )


def test_requestid_replays_a_fault_too(api):
    first = api.post("/customer", {"DisplayName": "Cool Cars"}, requestid="dup-1")
    second = api.post("/customer", {"DisplayName": "Fresh Name"}, requestid="dup-1")
    assert second.status_code == first.status_code == 400
    assert second.json() == first.json()


def test_requestid_memory_is_bounded():
    small = FakeQuickBooks(clock=FakeClock(), governance=None, requestid_memory=2)
    with small:
        _requestid_memory_is_bounded(Api(small))


def _requestid_memory_is_bounded(api: Api) -> None:
    for n in range(3):
        api.post("/customer", {"DisplayName": f"Memory {n}"}, requestid=f"mem-{n}")
    replay = api.post("/customer", {"DisplayName": "Memory 1 again"}, requestid="mem-1")
    assert replay.json()["Customer"]["DisplayName"] == "Memory 1"
    forgotten = api.post("/customer", {"DisplayName": "Memory 0 again"}, requestid="mem-0")
    assert forgotten.json()["Customer"]["DisplayName"] == "Memory 0 again"


def test_requestid_memory_zero_executes_every_repeat_and_can_be_set_later():
    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    with fake:
        api = Api(fake)
        api.post("/customer", {"DisplayName": "Kept"}, requestid="z-1")
        fake.requestid_memory = 0  # requestid not honoured: a reported QBO failure mode
        again = api.post("/customer", {"DisplayName": "Kept again"}, requestid="z-1")
        assert again.json()["Customer"]["DisplayName"] == "Kept again"  # forgotten at once
        twice = api.post("/customer", {"DisplayName": "Kept again 2"}, requestid="z-1")
        assert twice.json()["Customer"]["DisplayName"] == "Kept again 2"
        with pytest.raises(ConfigurationError, match="requestid_memory"):
            fake.requestid_memory = -1


def test_requestid_is_at_most_50_characters(api):
    assert (
        fault(api.post("/customer", {"DisplayName": "Long Id"}, requestid="x" * 51))["element"]
        == "requestid"
    )


def test_minorversion_is_recorded_and_served_as_at_least_75(api, fake):
    requests.get(api.base + "/customer/1", headers=api.headers)
    requests.get(api.base + "/customer/1", params={"minorversion": "40"}, headers=api.headers)
    requests.get(api.base + "/customer/1", params={"minorversion": "80"}, headers=api.headers)
    seen = [(r.requested_minor_version, r.minor_version) for r in fake.requests[-3:]]
    assert seen == [(None, 75), ("40", 75), ("80", 80)]
    assert fake.requests[-1].path == f"/v3/company/{fake.realm_id}/customer/1"


def test_every_answer_carries_an_intuit_tid(api, fake):
    answers = [
        api.get("/customer/1"),
        api.get("/customer/9999"),
        requests.get(api.base + "/customer/1"),
        requests.get("https://developer.intuit.com/.well-known/openid_configuration/"),
    ]
    tids = [a.headers.get("intuit_tid") for a in answers]
    assert all(tids)
    assert len(set(tids)) == len(tids)
    assert fake.requests[-1].intuit_tid in tids


def test_unknown_resources_are_refused(api):
    assert fault(api.get("/spaceship/1"))["code"] == "500"


def test_reset_restores_the_initial_books_and_tokens(api, fake):
    invoice(api, 10)
    api.create("Customer", {"DisplayName": "Temp"})
    before = fake.credentials
    fake.reset()
    assert fake.records("Invoice") == []
    assert len(fake.records("Customer")) == 4
    assert fake.credentials == before
    assert fake.requests == []
    assert invoice(api, 1)["DocNumber"] == "1001"
