"""FakeNetSuite's REST record service, driven over real HTTP by requests-oauthlib."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from ns_support import tba_session
from requests import Response

from erpsync.netsuite import wire
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite

ROOT = "/services/rest/record/v1"


class Client:
    """A few lines of raw HTTP: what any integration would write."""

    def __init__(self, fake: FakeNetSuite) -> None:
        self.session = tba_session(fake)
        self.base = fake.served_url

    def call(self, method: str, path: str, **kw: Any) -> Response:
        url = path if path.startswith("http") else f"{self.base}{ROOT}/{path}"
        return self.session.request(method, url, **kw)

    def get(self, path: str, **kw: Any) -> Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Response:
        return self.call("POST", path, json=body, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> Response:
        return self.call("PATCH", path, json=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Response:
        return self.call("PUT", path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.call("DELETE", path, **kw)

    def create(self, path: str, body: Any) -> str:
        response = self.post(path, body)
        assert response.status_code == 204, response.text
        return response.headers["Location"].rsplit("/", 1)[1]

    def suiteql(self, q: str) -> list[dict[str, Any]]:
        response = self.session.post(
            f"{self.base}/services/rest/query/v1/suiteql",
            json={"q": q},
            headers={"Prefer": "transient"},
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeNetSuite]:
    emulator = FakeNetSuite(clock=clock)
    emulator.serve()
    yield emulator
    emulator.shutdown()


@pytest.fixture
def ns(fake: FakeNetSuite) -> Client:
    return Client(fake)


def error(response: Response) -> dict[str, Any]:
    detail: dict[str, Any] = response.json()["o:errorDetails"][0]
    return detail


def invoice_body(customer: str = "101", **extra: Any) -> dict[str, Any]:
    return {
        "entity": {"id": customer},
        "tranDate": "2026-11-01",
        "item": {"items": [{"item": {"id": "202"}, "quantity": 2, "rate": 50}]},
        **extra,
    }


# -- entities ---------------------------------------------------------------------------------


def test_create_answers_204_with_the_served_location_and_get_renders_the_record(
    ns: Client, fake: FakeNetSuite
) -> None:
    response = ns.post(
        "customer",
        {
            "companyName": "Hooli",
            "email": "ap@hooli.example",
            "subsidiary": {"id": "1"},
            "externalId": "cust-hooli",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    location = response.headers["Location"]
    assert location.startswith(f"{fake.served_url}{ROOT}/customer/")

    record = ns.get(location).json()
    assert record["companyName"] == "Hooli"
    assert record["entityId"] == "Hooli"
    assert record["externalId"] == "cust-hooli"
    assert record["subsidiary"]["refName"] == "Honeycomb Mfg."
    assert record["currency"] == {
        "links": [{"rel": "self", "href": f"{fake.served_url}{ROOT}/currency/1"}],
        "id": "1",
        "refName": "USA",
    }
    assert record["links"] == [{"rel": "self", "href": location}]
    assert record["dateCreated"].endswith("Z")


def test_eid_addressing_and_the_not_found_body(ns: Client) -> None:
    assert ns.get("customer/eid:cust-acme").json()["companyName"] == "Acme Robotics"
    missing = ns.get("customer/99999")
    assert missing.status_code == 404
    assert missing.json() == {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5",
        "title": "Not Found",
        "status": 404,
        "o:errorDetails": [
            {
                "detail": "The record instance does not exist. Provide a valid record instance ID.",
                "o:errorCode": "NONEXISTENT_ID",
            }
        ],
    }
    assert ns.get("customer/eid:nobody").status_code == 404
    assert ns.get("nosuchtype/1").status_code == 404


def test_patch_is_partial_and_moves_last_modified(ns: Client, clock: FakeClock) -> None:
    before = ns.get("customer/101").json()
    clock.advance(120)
    assert ns.patch("customer/101", {"email": "new@acme.example"}).status_code == 204
    after = ns.get("customer/101").json()
    assert after["email"] == "new@acme.example"
    assert after["companyName"] == before["companyName"]
    assert after["lastModifiedDate"] > before["lastModifiedDate"]


def test_delete_removes_and_records_in_deletedrecord(ns: Client) -> None:
    rid = ns.create(
        "customer", {"companyName": "Gone", "subsidiary": {"id": "1"}, "externalId": "gone"}
    )
    assert ns.delete(f"customer/{rid}").status_code == 204
    assert ns.get(f"customer/{rid}").status_code == 404
    rows = ns.suiteql(
        f"SELECT recordid, recordtypeid, name, type, context FROM DeletedRecord "
        f"WHERE recordid = '{rid}'"
    )
    assert rows == [
        {
            "links": [],
            "recordid": rid,
            "recordtypeid": "customer",
            "name": "Gone",
            "type": "Customer",
            "context": "RESTWS",
        }
    ]


def test_deletedrecord_has_netsuites_columns_and_no_externalid(ns: Client) -> None:
    """NetSuite's DeletedRecord has no externalid: selecting it is a 400 naming it."""
    rid = ns.create("customer", {"companyName": "Gone", "subsidiary": {"id": "1"}})
    assert ns.delete(f"customer/{rid}").status_code == 204
    (row,) = ns.suiteql(f"SELECT * FROM deletedrecord WHERE recordid = '{rid}'")
    assert set(row) - {"links"} <= set(wire.DELETED_RECORD_COLUMNS)
    assert {"recordid", "recordtypeid", "deleteddate", "iscustomlist"} <= set(row)
    response = ns.session.post(
        f"{ns.base}/services/rest/query/v1/suiteql",
        json={"q": "SELECT d.recordid, d.externalid FROM deletedrecord d"},
        headers={"Prefer": "transient"},
    )
    assert response.status_code == 400
    assert "'externalid'" in error(response)["detail"]


def test_delete_refuses_a_record_with_dependents(ns: Client) -> None:
    response = ns.delete("vendor/105")  # the seeded purchase orders use it
    assert response.status_code == 400
    assert error(response)["o:errorCode"] == "USER_ERROR"


def test_external_id_is_unique_per_record_type(ns: Client) -> None:
    response = ns.post(
        "customer", {"companyName": "Other", "subsidiary": {"id": "1"}, "externalId": "cust-acme"}
    )
    assert response.status_code == 400
    assert error(response)["o:errorCode"] == "USER_ERROR"
    assert "already exists" in error(response)["detail"]
    # another record type may reuse it
    assert (
        ns.post(
            "vendor", {"companyName": "Other", "subsidiary": {"id": "1"}, "externalId": "cust-acme"}
        ).status_code
        == 204
    )


def test_entity_rules(ns: Client, fake: FakeNetSuite) -> None:
    no_sub = ns.post("customer", {"companyName": "Nowhere"})
    assert no_sub.status_code == 400
    assert error(no_sub)["o:errorPath"] == "subsidiary"
    duplicate = ns.post("customer", {"companyName": "Initech", "subsidiary": {"id": "1"}})
    assert error(duplicate)["o:errorPath"] == "entityId"
    fake.require_subsidiary = False
    assert ns.post("customer", {"companyName": "Nowhere"}).status_code == 204


def test_unknown_fields_and_bad_values_are_invalid_content(ns: Client) -> None:
    unknown = ns.post("customer", {"companyName": "X", "subsidiary": {"id": "1"}, "colour": 1})
    assert unknown.status_code == 400
    assert error(unknown)["o:errorCode"] == "INVALID_CONTENT"
    assert error(unknown)["o:errorPath"] == "colour"
    bad_date = ns.post("invoice", invoice_body(tranDate="11/01/2026"))
    assert error(bad_date)["o:errorPath"] == "tranDate"
    not_json = ns.call(
        "POST", "customer", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


def test_read_only_fields_sent_back_are_ignored(ns: Client) -> None:
    record = ns.get("customer/101").json()
    record["companyName"] = "Acme Robotics Inc."
    assert ns.patch("customer/101", record).status_code == 204
    assert ns.get("customer/101").json()["companyName"] == "Acme Robotics Inc."


def test_custom_fields_are_stored_and_queryable(ns: Client) -> None:
    rid = ns.create("invoice", invoice_body(custbody_job="J-7", custbody_rush=True))
    record = ns.get(f"invoice/{rid}").json()
    assert record["custbody_job"] == "J-7"
    assert record["custbody_rush"] is True
    assert (
        ns.suiteql(f"SELECT custbody_job FROM transaction WHERE id = {rid}")[0]["custbody_job"]
        == "J-7"
    )


def test_fields_parameter_limits_the_answer(ns: Client) -> None:
    record = ns.get("customer/101", params={"fields": "email,companyName"}).json()
    assert set(record) == {"links", "id", "email", "companyName"}


def test_collection_pages(ns: Client) -> None:
    page = ns.get("customer", params={"limit": 2, "offset": 0}).json()
    assert page["count"] == 2
    assert page["totalResults"] == 4
    assert page["hasMore"] is True
    assert [link["rel"] for link in page["links"]] == ["next", "last", "self"]  # Oracle's example
    assert page["items"][0]["id"] == "101"


# -- items ------------------------------------------------------------------------------------


def test_item_types_are_separate_record_types(ns: Client) -> None:
    rid = ns.create("serviceSaleItem", {"itemId": "DESIGN", "displayName": "Design"})
    record = ns.get(f"servicesaleitem/{rid}").json()
    assert record["itemType"] == {"id": "Service", "refName": "Service"}
    assert ns.get(f"inventoryItem/{rid}").status_code == 404
    duplicate = ns.post("nonInventorySaleItem", {"itemId": "DESIGN"})
    assert error(duplicate)["o:errorPath"] == "itemId"
    rows = ns.suiteql(f"SELECT itemtype, subtype FROM item WHERE id = {rid}")
    assert rows[0]["itemtype"] == "Service"
    assert rows[0]["subtype"] == "Sale"


# -- invoices and payments --------------------------------------------------------------------


def test_invoice_totals_status_and_sublists(ns: Client, fake: FakeNetSuite) -> None:
    rid = ns.create("invoice", invoice_body(externalId="job-1"))
    record = ns.get(f"invoice/{rid}").json()
    assert record["total"] == 100.0
    assert record["amountRemaining"] == 100.0
    assert record["status"] == {"id": "A", "refName": "Open"}
    assert record["entity"]["refName"] == "Acme Robotics"
    assert record["item"] == {
        "links": [{"rel": "self", "href": f"{fake.served_url}{ROOT}/invoice/{rid}/item"}]
    }
    expanded = ns.get(f"invoice/{rid}", params={"expandSubResources": "true"}).json()
    line = expanded["item"]["items"][0]
    assert (line["line"], line["quantity"], line["rate"], line["amount"]) == (1, 2.0, 50.0, 100.0)
    assert ns.get(f"invoice/{rid}/item").json()["count"] == 1
    assert ns.get(f"invoice/{rid}/item/1").json()["item"]["refName"] == "MACHINING"
    assert ns.get(f"invoice/{rid}/item/9").status_code == 404
    rows = ns.suiteql(
        f"SELECT type, status, foreigntotal, foreignamountremaining FROM "
        f"transaction WHERE id = {rid}"
    )
    assert rows[0] == {
        "links": [],
        "type": "CustInvc",
        "status": "A",
        "foreigntotal": "100",
        "foreignamountremaining": "100",
    }


def test_invoice_validation(ns: Client) -> None:
    missing_item = ns.post(
        "invoice", invoice_body(item={"items": [{"item": {"id": "9999"}, "amount": 5}]})
    )
    assert missing_item.status_code == 400
    assert error(missing_item) == {
        "detail": "Invalid item reference key 9999.",
        "o:errorPath": "item.items[0].item",
        "o:errorCode": "INVALID_KEY_OR_REF",
    }
    purchase_only = ns.post(
        "invoice", invoice_body(item={"items": [{"item": {"id": "203"}, "amount": 5}]})
    )
    assert error(purchase_only)["o:errorCode"] == "INVALID_KEY_OR_REF"
    vendor_as_customer = ns.post("invoice", invoice_body(customer="105"))
    assert error(vendor_as_customer)["o:errorPath"] == "entity"
    no_lines = ns.post("invoice", invoice_body(item={"items": []}))
    assert error(no_lines)["o:errorCode"] == "USER_ERROR"
    wrong_currency = ns.post("invoice", invoice_body(currency={"id": "1"}, customer="104"))
    assert error(wrong_currency)["o:errorCode"] == "INVALID_KEY_OR_REF"


def test_references_by_external_id(ns: Client) -> None:
    rid = ns.create(
        "invoice",
        {
            "entity": {"externalId": "cust-globex"},
            "item": {"items": [{"item": {"externalId": "item-machining"}, "amount": 12.5}]},
        },
    )
    record = ns.get(f"invoice/{rid}").json()
    assert record["entity"]["id"] == "102"
    assert record["total"] == 12.5


def test_patch_merges_lines_by_key_unless_replaced(ns: Client) -> None:
    rid = ns.create("invoice", invoice_body())
    ns.patch(f"invoice/{rid}", {"item": {"items": [{"line": 1, "quantity": 3}]}})
    assert ns.get(f"invoice/{rid}").json()["total"] == 150.0
    ns.patch(f"invoice/{rid}", {"item": {"items": [{"item": {"id": "202"}, "amount": 10}]}})
    assert ns.get(f"invoice/{rid}").json()["total"] == 160.0
    ns.patch(
        f"invoice/{rid}",
        {"item": {"items": [{"item": {"id": "202"}, "amount": 7}]}},
        params={"replace": "item"},
    )
    expanded = ns.get(f"invoice/{rid}", params={"expandSubResources": "true"}).json()
    assert expanded["total"] == 7.0
    assert expanded["item"]["count"] == 1
    bad = ns.patch(f"invoice/{rid}", {"item": {"items": [{"line": 42, "quantity": 1}]}})
    assert error(bad)["o:errorPath"] == "item.items[0].line"


def test_payment_application_drives_amount_remaining_and_status(ns: Client) -> None:
    inv = ns.create("invoice", invoice_body())
    pay = ns.create(
        "customerPayment",
        {
            "customer": {"id": "101"},
            "payment": 60,
            "apply": {"items": [{"doc": {"id": inv}, "apply": True, "amount": 60}]},
        },
    )
    invoice = ns.get(f"invoice/{inv}").json()
    assert invoice["amountRemaining"] == 40.0
    assert invoice["status"]["id"] == "A"
    payment = ns.get(f"customerPayment/{pay}", params={"expandSubResources": "true"}).json()
    assert payment["applied"] == 60.0
    assert payment["unapplied"] == 0.0
    assert payment["apply"]["items"][0]["doc"]["id"] == inv
    assert payment["apply"]["items"][0]["amount"] == 60.0

    over = ns.post(
        "customerPayment",
        {
            "customer": {"id": "101"},
            "payment": 50,
            "apply": {"items": [{"doc": {"id": inv}, "amount": 50}]},
        },
    )
    assert over.status_code == 400
    assert error(over)["o:errorPath"] == "apply.items[0].amount"
    more_than_paid = ns.post(
        "customerPayment",
        {
            "customer": {"id": "101"},
            "payment": 10,
            "apply": {"items": [{"doc": {"id": inv}, "amount": 20}]},
        },
    )
    assert error(more_than_paid)["o:errorPath"] == "payment"
    other_customer = ns.post(
        "customerPayment",
        {"customer": {"id": "102"}, "payment": 10, "apply": {"items": [{"doc": {"id": inv}}]}},
    )
    assert error(other_customer)["o:errorCode"] == "INVALID_KEY_OR_REF"

    rest = ns.create(
        "customerPayment", {"customer": {"id": "101"}, "apply": {"items": [{"doc": {"id": inv}}]}}
    )
    invoice = ns.get(f"invoice/{inv}").json()
    assert invoice["amountRemaining"] == 0.0
    assert invoice["status"] == {"id": "B", "refName": "Paid In Full"}
    assert ns.get(f"customerPayment/{rest}").json()["payment"] == 40.0
    assert ns.delete(f"invoice/{inv}").status_code == 400  # payments depend on it

    assert ns.delete(f"customerPayment/{rest}").status_code == 204
    assert ns.get(f"invoice/{inv}").json()["amountRemaining"] == 40.0
    links = ns.suiteql(
        f"SELECT nextdoc, foreignamount FROM previoustransactionlinelink "
        f"WHERE previousdoc = {inv} AND linktype = 'Payment'"
    )
    assert [(row["nextdoc"], row["foreignamount"]) for row in links] == [(pay, "60")]


# -- purchase orders and receipts -----------------------------------------------------------


def po_body() -> dict[str, Any]:
    return {
        "entity": {"id": "105"},
        "tranId": "PO-T1",
        "item": {
            "items": [
                {"item": {"id": "201"}, "quantity": 10, "rate": 4.5},
                {"item": {"id": "203"}, "quantity": 2, "rate": 25},
            ]
        },
    }


def receive(ns: Client, po: str, lines: list[dict[str, Any]] | None) -> Response:
    body = {} if lines is None else {"item": {"items": lines}}
    return ns.post(f"purchaseOrder/{po}/!transform/itemReceipt", body)


def test_purchase_order_statuses_follow_receipts(ns: Client, fake: FakeNetSuite) -> None:
    po = ns.create("purchaseOrder", po_body())
    record = ns.get(f"purchaseOrder/{po}", params={"expandSubResources": "true"}).json()
    # REST: the label is status's id; the letter is in orderStatus (WIRE.md).
    assert record["status"] == {"id": "Pending Receipt", "refName": "Pending Receipt"}
    assert record["orderStatus"] == {"id": "B", "refName": "Pending Receipt"}
    assert [line["line"] for line in record["item"]["items"]] == [1, 2]
    assert record["total"] == 95.0

    first = receive(ns, po, [{"orderLine": 1, "quantity": 4, "itemReceive": True}])
    assert first.status_code == 204
    assert first.headers["Location"].startswith(f"{fake.served_url}{ROOT}/itemreceipt/")
    record = ns.get(f"purchaseOrder/{po}", params={"expandSubResources": "true"}).json()
    assert record["orderStatus"] == {"id": "D", "refName": "Partially Received"}
    assert record["item"]["items"][0]["quantityReceived"] == 4.0

    too_many = receive(ns, po, [{"orderLine": 1, "quantity": 7}])
    assert too_many.status_code == 400
    assert error(too_many)["o:errorCode"] == "USER_ERROR"
    assert error(too_many)["o:errorPath"] == "item.items[0].quantity"
    assert error(receive(ns, po, [{"orderLine": 9}]))["o:errorPath"] == "item.items[0].orderLine"

    receipt_id = first.headers["Location"].rsplit("/", 1)[1]
    receipt = ns.get(f"itemReceipt/{receipt_id}", params={"expandSubResources": "true"}).json()
    assert receipt["createdFrom"]["id"] == po
    assert receipt["item"]["items"][0]["orderLine"] == 1

    assert receive(ns, po, None).status_code == 204  # the rest of everything
    assert ns.get(f"purchaseOrder/{po}").json()["orderStatus"] == {
        "id": "F",
        "refName": "Pending Bill",
    }
    assert ns.suiteql(f"SELECT status FROM transaction WHERE id = {po}")[0]["status"] == "F"
    assert ns.delete(f"purchaseOrder/{po}").status_code == 400

    assert ns.delete(f"itemReceipt/{receipt_id}").status_code == 204
    record = ns.get(f"purchaseOrder/{po}", params={"expandSubResources": "true"}).json()
    assert record["orderStatus"]["id"] == "D"
    assert record["item"]["items"][0]["quantityReceived"] == 6.0


def test_closing_every_line_closes_the_order(ns: Client) -> None:
    po = ns.create("purchaseOrder", po_body())
    ns.patch(
        f"purchaseOrder/{po}",
        {"item": {"items": [{"line": 1, "isClosed": True}, {"line": 2, "isClosed": True}]}},
    )
    assert ns.get(f"purchaseOrder/{po}").json()["orderStatus"] == {"id": "H", "refName": "Closed"}
    assert receive(ns, po, None).status_code == 400


def test_pending_approval_and_purchase_rules(ns: Client) -> None:
    po = ns.create("purchaseOrder", {**po_body(), "approvalStatus": {"id": "1"}})
    assert ns.get(f"purchaseOrder/{po}").json()["orderStatus"]["id"] == "A"
    assert receive(ns, po, None).status_code == 400
    ns.patch(f"purchaseOrder/{po}", {"approvalStatus": {"id": "2"}})
    assert ns.get(f"purchaseOrder/{po}").json()["orderStatus"]["id"] == "B"
    sale_only = ns.post(
        "purchaseOrder",
        {"entity": {"id": "105"}, "item": {"items": [{"item": {"id": "202"}, "rate": 1}]}},
    )
    assert error(sale_only)["o:errorCode"] == "INVALID_KEY_OR_REF"
    assert ns.post("itemReceipt", {"entity": {"id": "105"}}).status_code == 400


def test_seeded_orders_are_in_different_statuses(fake: FakeNetSuite) -> None:
    statuses = {po["externalId"]: po["orderStatus"]["id"] for po in fake.records("purchaseOrder")}
    assert statuses == {"po-pending": "B", "po-partial": "D", "po-received": "F"}


# -- upserts and async --------------------------------------------------------------------------


def test_put_eid_upserts_idempotently(ns: Client) -> None:
    body = invoice_body(memo="first")
    created = ns.put("invoice/eid:job-42", body)
    assert created.status_code == 204
    rid = created.headers["Location"].rsplit("/", 1)[1]
    again = ns.put("invoice/eid:job-42", {**body, "memo": "second"})
    assert again.headers["Location"].endswith(f"/invoice/{rid}")
    record = ns.get("invoice/eid:job-42", params={"expandSubResources": "true"}).json()
    assert record["memo"] == "second"
    assert record["externalId"] == "job-42"
    assert record["item"]["count"] == 1  # replaced, not appended
    mismatch = ns.put("invoice/eid:job-42", {**body, "externalId": "other"})
    assert mismatch.status_code == 400
    assert ns.put(f"invoice/{rid}", body).status_code == 400


def test_respond_async_jobs_and_idempotency_keys(
    ns: Client, fake: FakeNetSuite, clock: FakeClock
) -> None:
    fake.async_delay = 30
    key = str(uuid.uuid4())
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key}
    accepted = ns.post(
        "customer", {"companyName": "Async Co", "subsidiary": {"id": "1"}}, headers=headers
    )
    assert accepted.status_code == 202
    assert accepted.headers["Preference-Applied"] == "respond-async"
    job_path = accepted.headers["Location"]
    assert job_path.startswith("/services/rest/async/v1/job/")
    job_url = f"{fake.served_url}{job_path}"
    job = ns.get(job_url).json()
    assert (job["completed"], job["progress"]) == (False, "pending")

    repeat = ns.post(
        "customer", {"companyName": "Async Co 2", "subsidiary": {"id": "1"}}, headers=headers
    )
    assert repeat.status_code == 400
    assert error(repeat)["o:errorCode"] == "IDEMPOTENCY_ERROR"
    assert job_path in error(repeat)["detail"]

    clock.advance(30)
    job = ns.get(job_url).json()
    assert (job["completed"], job["progress"]) == (True, "succeeded")
    tasks = ns.get(job["task"]["links"][0]["href"]).json()
    task = ns.get(tasks["items"][0]["links"][0]["href"]).json()
    result = ns.get(task["links"][0]["href"])
    assert result.status_code == 204
    assert ns.get(result.headers["Location"]).json()["companyName"] == "Async Co"

    bad_key = ns.post(
        "customer",
        {},
        headers={"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "not-a-uuid"},
    )
    assert bad_key.status_code == 400


def test_async_failures_are_reported_by_the_job(ns: Client, fake: FakeNetSuite) -> None:
    accepted = ns.post(
        "customer", {"companyName": "No subsidiary"}, headers={"Prefer": "respond-async"}
    )
    job_url = f"{fake.served_url}{accepted.headers['Location']}"
    assert ns.get(job_url).json()["progress"] == "failed"
    result = ns.get(f"{job_url}/task/1/result")
    assert result.status_code == 400
    assert error(result)["o:errorPath"] == "subsidiary"


def test_rest_timestamps_are_utc_with_z(ns: Client) -> None:
    """WIRE.md: REST timestamps look like 2025-12-19T15:23:00Z."""
    record = ns.get("customer/101").json()
    for name in ("dateCreated", "lastModifiedDate"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", record[name]), record[name]
