"""Custom-field id mapping (seed 003): products, customers, contracts to ERP refs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from erpsync.errors import ConfigurationError, MappingError
from erpsync.mapping.fields import FieldMapping, item_id_from_line
from erpsync.models import Ref

M = FieldMapping()


def product(value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "prod_1",
        "name": "Compute hours",
        "custom_fields": {"netsuite_internal_item_id": value},
        **extra,
    }


# -- products (one to many) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", ["12"]),
        (12, ["12"]),
        (" 12 ", ["12"]),
        ("12,13", ["12", "13"]),
        ("12, 13 ,14", ["12", "13", "14"]),
        (["12", 13], ["12", "13"]),
        (("7",), ["7"]),
        ('["21", 22]', ["21", "22"]),
        ("12,13,12", ["12", "13"]),  # repeated ids collapse, order kept
    ],
)
def test_item_refs_accepts_every_id_shape(value: Any, expected: list[str]) -> None:
    assert M.item_refs(product(value)) == [Ref(id=i) for i in expected]


def test_item_ref_single_item() -> None:
    assert M.item_ref(product("12")) == Ref(id="12")


def test_item_ref_several_items_defaults_to_first() -> None:
    assert M.item_ref(product("30,31")) == Ref(id="30")


@pytest.mark.parametrize("value", [None, "", "   ", [], "[]"])
def test_missing_item_id_names_product_and_field(value: Any) -> None:
    with pytest.raises(MappingError) as info:
        M.item_refs(product(value))
    err = info.value
    assert err.record == "product 'prod_1' (Compute hours)"
    assert err.field == "custom_fields.netsuite_internal_item_id"
    text = str(err)
    assert "prod_1" in text and "Compute hours" in text
    assert "netsuite_internal_item_id" in text


def test_product_without_custom_fields_at_all() -> None:
    with pytest.raises(MappingError, match="has no netsuite_internal_item_id"):
        M.item_ref({"id": "prod_2"})
    with pytest.raises(MappingError):
        M.item_ref({"id": "prod_2", "custom_fields": None})


@pytest.mark.parametrize(
    "value",
    ["12a", "A-100", "12,,13", "12,", "-5", "1.5", 1.0, True, {"id": "12"}, [None], [True], "[12"],
)
def test_invalid_item_ids_are_mapping_errors(value: Any) -> None:
    with pytest.raises(MappingError) as info:
        M.item_refs(product(value))
    assert info.value.record == "product 'prod_1' (Compute hours)"
    assert info.value.field == "custom_fields.netsuite_internal_item_id"


def test_custom_fields_as_json_text_from_data_export() -> None:
    row = {"id": "prod_3", "custom_fields": '{"netsuite_internal_item_id": "44"}'}
    assert M.item_ref(row) == Ref(id="44")
    with pytest.raises(MappingError, match="not valid JSON"):
        M.item_ref({"id": "prod_3", "custom_fields": "{oops"})
    with pytest.raises(MappingError, match="must be an object"):
        M.item_ref({"id": "prod_3", "custom_fields": ["44"]})
    with pytest.raises(MappingError, match="must be an object"):
        M.item_ref({"id": "prod_3", "custom_fields": "[1]"})


def test_field_extracted_into_a_column_is_found() -> None:
    """A warehouse query that already pulled the custom field out into a column."""
    row = {"product_id": "prod_4", "netsuite_internal_item_id": "55"}
    assert M.item_ref(row) == Ref(id="55")
    # The custom_fields value wins over a column of the same name.
    both = {"custom_fields": {"netsuite_internal_item_id": "1"}, "netsuite_internal_item_id": "2"}
    assert M.item_ref(both) == Ref(id="1")


def test_non_mapping_record_is_mapping_error() -> None:
    with pytest.raises(MappingError, match="must be a mapping"):
        M.item_ref(["12"])  # type: ignore[arg-type]


# -- item rules ------------------------------------------------------------------------------


def test_item_rule_picks_among_candidates() -> None:
    seen: list[tuple[Sequence[Ref], Mapping[str, Any] | None]] = []

    def by_region(
        prod: Mapping[str, Any], candidates: Sequence[Ref], line: Mapping[str, Any] | None
    ) -> Ref | str:
        seen.append((candidates, line))
        return candidates[1] if line and line.get("region") == "eu" else "30"

    mapping = FieldMapping(item_rule=by_region)
    assert mapping.item_ref(product("30,31"), {"region": "eu"}) == Ref(id="31")
    assert mapping.item_ref(product("30,31"), {"region": "us"}) == Ref(id="30")
    assert seen[0] == ([Ref(id="30"), Ref(id="31")], {"region": "eu"})
    # A single candidate needs no rule.
    assert mapping.item_ref(product("30")) == Ref(id="30")
    assert len(seen) == 2


def test_item_rule_picking_a_stranger_is_mapping_error() -> None:
    mapping = FieldMapping(item_rule=lambda p, c, line: "99")
    with pytest.raises(MappingError, match="not one of the product's items") as info:
        mapping.item_ref(product("30,31"))
    assert info.value.record == "product 'prod_1' (Compute hours)"


def test_item_id_from_line_rule() -> None:
    mapping = FieldMapping(item_rule=item_id_from_line())
    prod = product("30,31,32")
    line = {"id": "li_1", "custom_fields": {"netsuite_internal_item_id": "32"}}
    assert mapping.item_ref(prod, line) == Ref(id="32")
    assert mapping.item_ref(prod, {"custom_fields": '{"netsuite_internal_item_id": 31}'}) == Ref(
        id="31"
    )
    assert mapping.item_ref(prod, {"netsuite_internal_item_id": " 31 "}) == Ref(id="31")
    assert mapping.item_ref(prod, {"custom_fields": {}}) == Ref(id="30")
    assert mapping.item_ref(prod, {"netsuite_internal_item_id": ""}) == Ref(id="30")
    assert mapping.item_ref(prod) == Ref(id="30")
    with pytest.raises(MappingError, match="not one of the product's items"):
        mapping.item_ref(prod, {"custom_fields": {"netsuite_internal_item_id": "77"}})
    with pytest.raises(MappingError, match="must be an id"):
        mapping.item_ref(prod, {"custom_fields": {"netsuite_internal_item_id": 3.5}})
    with pytest.raises(MappingError, match="not valid JSON"):
        mapping.item_ref(prod, {"id": "li_9", "custom_fields": "{"})


def test_item_id_from_line_with_custom_names() -> None:
    rule = item_id_from_line("ns_item", custom_fields_key="meta")
    mapping = FieldMapping(item_rule=rule)
    assert mapping.item_ref(product("1,2"), {"meta": {"ns_item": 2}}) == Ref(id="2")


# -- customers (one to one) and contracts (optional) -----------------------------------------


def test_customer_ref() -> None:
    customer = {
        "id": "e0ac4251",
        "name": "Acme",
        "custom_fields": {"netsuite_internal_customer_id": "58"},
    }
    assert M.customer_ref(customer) == Ref(id="58")
    assert M.customer_ref({"custom_fields": {"netsuite_internal_customer_id": 58}}) == Ref(id="58")


def test_customer_missing_or_ambiguous() -> None:
    with pytest.raises(MappingError) as info:
        M.customer_ref({"id": "e0ac4251", "name": "Acme", "custom_fields": {}})
    assert info.value.record == "customer 'e0ac4251' (Acme)"
    assert info.value.field == "custom_fields.netsuite_internal_customer_id"
    assert "Set the customer's custom field" in str(info.value)
    with pytest.raises(MappingError, match="exactly one"):
        M.customer_ref({"id": "c", "custom_fields": {"netsuite_internal_customer_id": "58,59"}})
    # The same id twice is still one customer.
    same = {"custom_fields": {"netsuite_internal_customer_id": ["58", 58]}}
    assert M.customer_ref(same) == Ref(id="58")


def test_sales_order_ref_is_optional() -> None:
    contract = {"id": "ct_1", "custom_fields": {"netsuite_sales_order_id": "901"}}
    assert M.sales_order_ref(contract) == Ref(id="901")
    assert M.sales_order_ref({"id": "ct_2", "custom_fields": {}}) is None
    assert M.sales_order_ref({"id": "ct_3"}) is None
    with pytest.raises(MappingError) as info:
        M.sales_order_ref({"id": "ct_4", "custom_fields": {"netsuite_sales_order_id": "SO-9"}})
    assert info.value.record == "contract 'ct_4'"
    assert info.value.field == "custom_fields.netsuite_sales_order_id"
    with pytest.raises(MappingError, match="exactly one"):
        M.sales_order_ref({"custom_fields": {"netsuite_sales_order_id": "1,2"}})


def test_record_without_id_or_name_is_described_by_kind() -> None:
    with pytest.raises(MappingError) as info:
        M.customer_ref({})
    assert info.value.record == "customer"


# -- configuration ---------------------------------------------------------------------------


def test_custom_field_names_and_id_pattern() -> None:
    qbo = FieldMapping(
        item_field="qbo_item",
        customer_field="qbo_customer",
        sales_order_field="qbo_estimate",
        custom_fields_key="metadata",
        id_pattern=r"[0-9]{1,6}",
    )
    record = {"metadata": {"qbo_item": "5", "qbo_customer": "7", "qbo_estimate": "9"}}
    assert qbo.item_ref(record) == Ref(id="5")
    assert qbo.customer_ref(record) == Ref(id="7")
    assert qbo.sales_order_ref(record) == Ref(id="9")
    with pytest.raises(MappingError, match="expected"):
        qbo.item_ref({"metadata": {"qbo_item": "1234567"}})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"item_field": ""},
        {"customer_field": "  "},
        {"custom_fields_key": None},
        {"id_pattern": "("},
        {"item_rule": "first"},
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        FieldMapping(**kwargs)


def test_mapping_is_frozen_and_comparable() -> None:
    assert FieldMapping() == FieldMapping()
    assert FieldMapping(item_field="x") != FieldMapping()
    with pytest.raises(AttributeError):
        M.item_field = "x"  # type: ignore[misc]
    assert "netsuite_internal_item_id" in repr(M)
