"""SuiteQL text building: literals that values cannot break, and keyset page queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from erpsync.errors import ConfigurationError
from erpsync.netsuite.query import keyset_column, keyset_page_query, suiteql_literal


def test_suiteql_literals_are_escaped() -> None:
    assert suiteql_literal("Adam's Candy") == "'Adam''s Candy'"
    assert suiteql_literal("x' OR '1'='1") == "'x'' OR ''1''=''1'"
    assert suiteql_literal(42) == "42"
    assert suiteql_literal(Decimal("1.50")) == "1.50"
    assert suiteql_literal(None) == "NULL"
    assert suiteql_literal(True) == "'T'"
    assert suiteql_literal(False) == "'F'"
    assert suiteql_literal(date(2026, 11, 3)) == "TO_DATE('2026-11-03', 'YYYY-MM-DD')"
    moment = datetime(2026, 11, 3, 10, 15, tzinfo=UTC)
    assert suiteql_literal(moment) == (
        "TO_TIMESTAMP('2026-11-03 10:15:00', 'YYYY-MM-DD HH24:MI:SS')"
    )


def test_aware_datetimes_are_written_in_utc() -> None:
    moment = datetime(2026, 11, 3, 2, 15, tzinfo=timezone(timedelta(hours=-8)))
    assert "'2026-11-03 10:15:00'" in suiteql_literal(moment)


@pytest.mark.parametrize(
    "bad", [1.5, Decimal("NaN"), Decimal("Infinity"), "a\x00b", ["x"], b"x"], ids=repr
)
def test_suiteql_literal_refuses_what_it_cannot_write_exactly(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        suiteql_literal(bad)


def test_keyset_column_is_the_last_segment_in_lower_case() -> None:
    assert keyset_column("id") == "id"
    assert keyset_column("c.ID") == "id"
    assert keyset_column("t.tranDate") == "trandate"


@pytest.mark.parametrize("bad", ["id; DROP", "1id", "", "c.id OR 1=1", 7], ids=repr)
def test_keyset_column_refuses_anything_but_an_identifier(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        keyset_column(bad)  # type: ignore[arg-type]


def test_keyset_page_queries() -> None:
    base = "SELECT c.id, c.entityid FROM customer c"
    assert keyset_page_query(base, "id", None) == f"SELECT * FROM ({base}) ORDER BY id"
    after_41 = keyset_page_query(base, "id", "41")
    assert after_41 == f"SELECT * FROM ({base}) WHERE id > 41 ORDER BY id"
    assert keyset_page_query(base, "id", "-3").endswith(" WHERE id > -3 ORDER BY id")
    # A key that is not a number is compared as text, through a literal.
    assert keyset_page_query(base, "entityid", "O'Brien") == (
        f"SELECT * FROM ({base}) WHERE entityid > 'O''Brien' ORDER BY entityid"
    )
