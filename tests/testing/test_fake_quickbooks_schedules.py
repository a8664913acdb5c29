"""ExchangeRate and RecurringTransaction over raw HTTP: rates per currency and day, and
templates that make their transactions when the emulator clock passes their next date."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from erpsync.testing import FakeClock, FakeQuickBooks

#: 2026-11-03 18:00 UTC: 10:00 in the company's zone (US Pacific), a Tuesday.
START = datetime(2026, 11, 3, 18, tzinfo=UTC).timestamp()
DAY = 86_400


class Api:
    def __init__(self, fake: FakeQuickBooks, clock: FakeClock) -> None:
        self.base = f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}"
        self.headers = {"Authorization": f"Bearer {fake.credentials.access_token}"}
        self.credentials, self.clock = fake.credentials, clock
        self.refresh_token = fake.credentials.refresh_token

    def advance(self, seconds: float) -> None:
        """Move the clock on, and refresh the (then expired) access token as a client does."""
        self.clock.advance(seconds)
        answer = requests.post(
            "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
            data={"grant_type": "refresh_token", "refresh_token": self.refresh_token},
            auth=(self.credentials.client_id, self.credentials.client_secret),
        ).json()
        self.refresh_token = answer["refresh_token"]
        self.headers = {"Authorization": f"Bearer {answer['access_token']}"}

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(self.base + path, params=params, headers=self.headers)

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(self.base + path, json=body, headers=self.headers)

    def query(self, text: str) -> dict[str, Any]:
        answer = self.get("/query", query=text)
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["QueryResponse"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def fake(qbo_in_process: FakeQuickBooks) -> FakeQuickBooks:
    return qbo_in_process


@pytest.fixture
def api(fake: FakeQuickBooks, clock: FakeClock) -> Api:
    return Api(fake, clock)


def _multicurrency(fake: FakeQuickBooks) -> None:
    fake.set_preferences({"CurrencyPrefs": {"MultiCurrencyEnabled": True}})


# -- ExchangeRate -------------------------------------------------------------------------


def test_exchange_rates_need_multicurrency(api: Api) -> None:
    answer = api.get("/exchangerate", sourcecurrencycode="EUR")
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == "6000"


def test_turning_multicurrency_on_seeds_todays_rates(fake: FakeQuickBooks, api: Api) -> None:
    _multicurrency(fake)
    answer = api.get("/exchangerate", sourcecurrencycode="EUR", asofdate="2026-11-03")
    assert answer.status_code == 200, answer.text
    rate = answer.json()["ExchangeRate"]
    assert rate["SourceCurrencyCode"] == "EUR"
    assert rate["TargetCurrencyCode"] == "USD"
    assert rate["Rate"] == 1.08
    assert rate["AsOfDate"] == "2026-11-03"
    assert "Id" not in rate and rate["SyncToken"] == "0"
    # a later day without its own rate gets the latest one before it
    later = api.get("/exchangerate", sourcecurrencycode="EUR", asofdate="2026-12-24").json()
    assert later["ExchangeRate"]["AsOfDate"] == "2026-11-03"
    # none before the first one
    assert (
        api.get("/exchangerate", sourcecurrencycode="EUR", asofdate="2026-01-01").status_code == 400
    )
    codes = {
        r["SourceCurrencyCode"] for r in api.query("select * from ExchangeRate")["ExchangeRate"]
    }
    assert codes == {"CAD", "EUR", "GBP", "AUD", "MXN", "JPY"}


def test_a_rate_is_set_per_day_and_changed_with_its_sync_token(
    fake: FakeQuickBooks, api: Api
) -> None:
    _multicurrency(fake)
    made = api.post(
        "/exchangerate", {"SourceCurrencyCode": "GBP", "Rate": 1.3, "AsOfDate": "2026-11-10"}
    )
    assert made.status_code == 200, made.text
    assert made.json()["ExchangeRate"]["Rate"] == 1.3
    stale = api.post(
        "/exchangerate",
        {"SourceCurrencyCode": "GBP", "Rate": 1.31, "AsOfDate": "2026-11-10", "SyncToken": "7"},
    )
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    changed = api.post(
        "/exchangerate",
        {"SourceCurrencyCode": "GBP", "Rate": 1.31, "AsOfDate": "2026-11-10", "SyncToken": "0"},
    ).json()["ExchangeRate"]
    assert (changed["Rate"], changed["SyncToken"]) == (1.31, "1")
    rows = api.query(
        "select * from ExchangeRate where SourceCurrencyCode = 'GBP' and AsOfDate = '2026-11-10'"
    )["ExchangeRate"]
    assert [r["Rate"] for r in rows] == [1.31]
    bad = api.post("/exchangerate", {"SourceCurrencyCode": "USD", "Rate": 2})
    assert bad.json()["Fault"]["Error"][0]["element"] == "TargetCurrencyCode"
    bad = api.post("/exchangerate", {"SourceCurrencyCode": "XXX", "Rate": 2})
    assert bad.json()["Fault"]["Error"][0]["element"] == "SourceCurrencyCode"


def test_a_foreign_invoice_without_a_rate_takes_the_rate_of_its_day(
    fake: FakeQuickBooks, api: Api
) -> None:
    _multicurrency(fake)
    api.post("/exchangerate", {"SourceCurrencyCode": "EUR", "Rate": 1.2, "AsOfDate": "2026-11-05"})
    euro = api.post(
        "/customer", {"DisplayName": "Euro GmbH", "CurrencyRef": {"value": "EUR"}}
    ).json()["Customer"]
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 100,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    for day, rate in (("2026-11-04", 1.08), ("2026-11-06", 1.2)):
        made = api.post(
            "/invoice",
            {
                "CustomerRef": {"value": euro["Id"]},
                "CurrencyRef": {"value": "EUR"},
                "TxnDate": day,
                "Line": [line],
            },
        ).json()["Invoice"]
        assert (made["ExchangeRate"], made["HomeTotalAmt"]) == (rate, round(100 * rate, 2))


# -- RecurringTransaction ---------------------------------------------------------------------


def _template(schedule: dict[str, Any], **info: Any) -> dict[str, Any]:
    return {
        "Invoice": {
            "CustomerRef": {"value": "1"},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 50,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
            "RecurringInfo": {
                "Name": "Retainer",
                "RecurType": "Automated",
                "Active": True,
                "ScheduleInfo": schedule,
                **info,
            },
        }
    }


def _invoice_dates(api: Api) -> list[str]:
    rows = api.query("select * from Invoice ORDERBY TxnDate").get("Invoice", [])
    return [r["TxnDate"] for r in rows if r.get("RecurDataRef")]


def test_a_monthly_template_makes_its_invoices_as_the_clock_passes(
    clock: FakeClock, api: Api
) -> None:
    made = api.post(
        "/recurringtransaction",
        _template(
            {
                "IntervalType": "Monthly",
                "NumInterval": 1,
                "DayOfMonth": 31,
                "StartDate": "2026-11-05",
                "MaxOccurrences": 3,
            }
        ),
    )
    assert made.status_code == 200, made.text
    schedule = made.json()["RecurringTransaction"]["Invoice"]["RecurringInfo"]["ScheduleInfo"]
    assert schedule["NextDate"] == "2026-11-30"  # the 31st, clamped to November's end
    assert _invoice_dates(api) == []
    api.advance(27 * DAY)  # 2026-11-30 in the company's zone
    assert _invoice_dates(api) == ["2026-11-30"]
    api.advance(70 * DAY)  # past 12-31 and 01-31; the third is the last
    assert _invoice_dates(api) == ["2026-11-30", "2026-12-31", "2027-01-31"]
    api.advance(60 * DAY)
    assert len(_invoice_dates(api)) == 3
    template = api.query("select * from RecurringTransaction")["RecurringTransaction"][0]
    final = template["Invoice"]["RecurringInfo"]["ScheduleInfo"]
    assert final["PreviousDate"] == "2027-01-31" and "NextDate" not in final


def test_weekly_and_daily_schedules_and_an_end_date(clock: FakeClock, api: Api) -> None:
    api.post(
        "/recurringtransaction",
        _template(
            {
                "IntervalType": "Weekly",
                "NumInterval": 2,
                "DayOfWeek": "Friday",
                "StartDate": "2026-11-03",
                "EndDate": "2026-12-01",
            }
        ),
    )
    api.advance(40 * DAY)
    days = _invoice_dates(api)
    assert days == ["2026-11-06", "2026-11-20"]
    assert {calendar.day_name[datetime.fromisoformat(d).weekday()] for d in days} == {"Friday"}


def test_reminded_and_inactive_templates_make_nothing(clock: FakeClock, api: Api) -> None:
    daily = {"IntervalType": "Daily", "NumInterval": 1, "StartDate": "2026-11-04"}
    api.post("/recurringtransaction", _template(daily, RecurType="Reminded"))
    api.post("/recurringtransaction", _template(daily, Active=False))
    api.advance(5 * DAY)
    assert _invoice_dates(api) == []


def test_a_template_is_checked(api: Api) -> None:
    def fault(body: dict[str, Any]) -> dict[str, Any]:
        answer = api.post("/recurringtransaction", body)
        assert answer.status_code == 400, answer.text
        return dict(answer.json()["Fault"]["Error"][0])

    assert fault(_template({"IntervalType": "Hourly", "StartDate": "2026-11-04"}))["element"] == (
        "ScheduleInfo.IntervalType"
    )
    assert "StartDate" in fault(_template({"IntervalType": "Daily"}))["element"]
    assert (
        fault(_template({"IntervalType": "Daily", "StartDate": "2026-11-04", "NumInterval": 0}))[
            "element"
        ]
        == "ScheduleInfo.NumInterval"
    )
    assert "RecurringInfo" in fault({"Invoice": {"CustomerRef": {"value": "1"}}})["element"]


def test_a_template_is_named_by_its_transaction_on_the_wire(api: Api) -> None:
    daily = {"IntervalType": "Daily", "NumInterval": 1, "StartDate": "2030-01-01"}
    made = api.post("/recurringtransaction", _template(daily)).json()["RecurringTransaction"]
    assert list(made) == ["Invoice"]  # Id, SyncToken and MetaData live in the transaction
    inner = made["Invoice"]
    assert inner["SyncToken"] == "0" and "CreateTime" in inner["MetaData"]
    read = api.get(f"/recurringtransaction/{inner['Id']}").json()["RecurringTransaction"]
    assert read["Invoice"]["Id"] == inner["Id"]
    # An update names the template by its transaction's Id and SyncToken, as a read gave.
    changed = {**inner, "PrivateNote": "new"}
    changed["RecurringInfo"]["ScheduleInfo"]["DayOfMonth"] = 15
    updated = api.post("/recurringtransaction", {"Invoice": changed})
    assert updated.status_code == 200, updated.text
    after = updated.json()["RecurringTransaction"]["Invoice"]
    assert (after["Id"], after["SyncToken"], after["PrivateNote"]) == (inner["Id"], "1", "new")
    assert len(api.query("select * from RecurringTransaction")["RecurringTransaction"]) == 1
    stale = api.post("/recurringtransaction", {"Invoice": changed})  # SyncToken 0 again
    assert stale.status_code == 400 and stale.json()["Fault"]["Error"][0]["code"] == "5010"
    gone = requests.post(
        api.base + "/recurringtransaction",
        params={"operation": "delete"},
        json={"Invoice": after},
        headers=api.headers,
    )
    assert gone.status_code == 200, gone.text
    assert "RecurringTransaction" not in api.query("select * from RecurringTransaction")


def test_templates_filter_by_the_type_they_hold(api: Api) -> None:
    daily = {"IntervalType": "Daily", "NumInterval": 1, "StartDate": "2030-01-01"}
    api.post("/recurringtransaction", _template(daily))
    bill = {
        "Bill": {
            "VendorRef": {"value": "1"},
            "Line": [
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": 500,
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "1"}},
                }
            ],
            "RecurringInfo": {"Name": "Rent", "RecurType": "Automated", "ScheduleInfo": daily},
        }
    }
    assert api.post("/recurringtransaction", bill).status_code == 200
    rows = api.query("select * from RecurringTransaction where Type = 'Bill'")
    assert [list(r) for r in rows["RecurringTransaction"]] == [["Bill"]]
    assert "Type" not in rows["RecurringTransaction"][0]["Bill"]
    every = api.query("select * from RecurringTransaction")["RecurringTransaction"]
    assert sorted(next(iter(r)) for r in every) == ["Bill", "Invoice"]


def test_the_held_transaction_obeys_its_own_rules_but_draws_no_number(api: Api) -> None:
    daily = {"IntervalType": "Daily", "NumInterval": 1, "StartDate": "2030-01-01"}
    made = api.post("/recurringtransaction", _template(daily)).json()["RecurringTransaction"]
    inner = made["Invoice"]
    assert inner["CustomerRef"]["name"] == "Amy's Bird Sanctuary" and inner["TotalAmt"] == 50.0
    assert "DocNumber" not in inner and "TxnDate" not in inner
    missing = _template(daily)
    missing["Invoice"]["CustomerRef"] = {"value": "99"}
    refused = api.post("/recurringtransaction", missing)
    assert refused.status_code == 400
    assert refused.json()["Fault"]["Error"][0]["element"] == "CustomerRef"
    line = _template(daily)["Invoice"]["Line"]
    invoice = api.post("/invoice", {"CustomerRef": {"value": "1"}, "Line": line}).json()
    assert invoice["Invoice"]["DocNumber"] == "1001"  # the templates took no number
