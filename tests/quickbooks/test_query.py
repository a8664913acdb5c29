"""The query builder: escaping, the language's limits, and a round trip through the
emulator's parser for arbitrary names."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.errors import ConfigurationError
from erpsync.quickbooks.query import Query, check_query_text, quote
from erpsync.testing.quickbooks import FakeQuickBooks


def test_quote_escapes_backslash_then_quote():
    assert quote("Adam's Candy Shop") == "'Adam\\'s Candy Shop'"
    assert quote("back\\slash") == "'back\\\\slash'"
    # A trailing backslash must not escape the closing quote.
    assert quote("ends with \\") == "'ends with \\\\'"
    assert quote("\\'") == "'\\\\\\''"


def test_quote_literals_of_other_types():
    assert quote(True) == "true"
    assert quote(False) == "false"
    assert quote(42) == "42"
    assert quote(Decimal("10.50")) == "10.50"
    assert quote(Decimal("1E+3")) == "1000"
    assert quote(date(2026, 11, 3)) == "'2026-11-03'"
    moment = datetime(2026, 11, 3, 9, 15, 2, tzinfo=timezone(timedelta(hours=-8)))
    assert quote(moment) == "'2026-11-03T09:15:02-08:00'"


@pytest.mark.parametrize("bad", [1.5, datetime(2026, 1, 1), Decimal("NaN"), None, ["x"]], ids=repr)
def test_quote_refuses_inexact_or_ambiguous_values(bad):
    with pytest.raises(ConfigurationError):
        quote(bad)


def test_builder_renders_the_language():
    query = (
        Query("Invoice")
        .where("CustomerRef", "=", "58")
        .where("MetaData.LastUpdatedTime", ">=", datetime(2026, 11, 1, tzinfo=UTC))
        .where_in("DocNumber", ["a", "b'c"])
        .like("PrivateNote", "%job%")
        .order_by("TxnDate", descending=True)
        .order_by("Id")
    )
    assert query.text(start_position=1001, max_results=1000) == (
        "SELECT * FROM Invoice WHERE CustomerRef = '58' AND "
        "MetaData.LastUpdatedTime >= '2026-11-01T00:00:00+00:00' AND "
        "DocNumber IN ('a', 'b\\'c') AND PrivateNote LIKE '%job%' "
        "ORDERBY TxnDate DESC, Id STARTPOSITION 1001 MAXRESULTS 1000"
    )
    assert str(query.count()) == (
        "SELECT count(*) FROM Invoice WHERE CustomerRef = '58' AND "
        "MetaData.LastUpdatedTime >= '2026-11-01T00:00:00+00:00' AND "
        "DocNumber IN ('a', 'b\\'c') AND PrivateNote LIKE '%job%'"
    )


def test_builder_is_immutable():
    base = Query("Customer")
    narrowed = base.where("Active", "=", True)
    assert base.text() == "SELECT * FROM Customer"
    assert narrowed.text() == "SELECT * FROM Customer WHERE Active = true"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Query("Invoice; DROP"),
        lambda: Query("Invoice").where("Doc Number", "=", "x"),
        lambda: Query("Invoice").where("DocNumber", "OR", "x"),
        lambda: Query("Invoice").where("DocNumber", "LIKE", "x"),
        lambda: Query("Invoice").where_in("DocNumber", []),
        lambda: Query("Invoice").order_by("x' OR"),
        lambda: Query("Invoice").text(start_position=0),
        lambda: Query("Invoice").text(max_results=1001),
        lambda: Query("Invoice").text(max_results=0),
    ],
)
def test_builder_refuses_what_the_language_lacks(build):
    with pytest.raises(ConfigurationError):
        build()


def test_raw_text_with_or_is_refused_but_or_inside_a_literal_is_fine():
    with pytest.raises(ConfigurationError, match="no OR"):
        check_query_text("SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'")
    with pytest.raises(ConfigurationError, match="no OR"):
        check_query_text("select * from Customer where Active = true or Id = '1'")
    assert check_query_text("SELECT * FROM Customer WHERE DisplayName = 'Black or White'")
    assert check_query_text("SELECT * FROM Customer WHERE DisplayName = 'it\\'s or'")
    assert check_query_text("SELECT * FROM Customer ORDERBY DisplayName")
    with pytest.raises(ConfigurationError, match="unclosed"):
        check_query_text("SELECT * FROM Customer WHERE DisplayName = 'open")
    with pytest.raises(ConfigurationError):
        check_query_text("   ")


_counter = itertools.count()

# DisplayName rules of QuickBooks: no colon, trimmed, not empty, at most 500 characters.
_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=":"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "" and not s.strip().endswith("(deleted)"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=_names)
def test_any_display_name_round_trips_through_a_query(fake: FakeQuickBooks, connect, raw: str):
    client = connect(fake).client
    name = f"{next(_counter)} {raw.strip()}"
    created = client.create("Customer", {"DisplayName": name})
    rows = client.query_page(Query("Customer").where("DisplayName", "=", name))
    assert [r["Id"] for r in rows] == [created["Id"]]
    assert rows[0]["DisplayName"] == name
    like = client.query_page(Query("Customer").like("DisplayName", name))
    assert created["Id"] in [r["Id"] for r in like]


def test_select_names_only_the_fields_asked_for():
    query = Query("Invoice").select("Id", "PrivateNote", "Id").where("TxnDate", "=", "2026-11-03")
    assert query.text(max_results=5) == (
        "SELECT Id, PrivateNote FROM Invoice WHERE TxnDate = '2026-11-03' MAXRESULTS 5"
    )
    assert query.count().text() == "SELECT count(*) FROM Invoice WHERE TxnDate = '2026-11-03'"
    with pytest.raises(ConfigurationError):
        Query("Invoice").select("Id; DROP")
