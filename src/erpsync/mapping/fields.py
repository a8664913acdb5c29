"""ERP ids kept in a source system's custom fields (seed 003).

A usage-billing platform does not know NetSuite's ids, so its users store them on their
own records: a custom field ``netsuite_internal_item_id`` on each product (one product
may stand for several NetSuite items), ``netsuite_internal_customer_id`` on each
customer (one to one) and, for order fulfilment, ``netsuite_sales_order_id`` on each
contract. :class:`FieldMapping` reads those fields from plain records (dicts shaped like
the platform's JSON, ``{"id": ..., "name": ..., "custom_fields": {...}}``) and turns them
into :class:`~erpsync.models.Ref` values, validating every id on the way: a record
without its id, or with a value that is not an id, raises
:class:`~erpsync.errors.MappingError` naming the record (type, id and name) and the
field, so a person can fix the data where it lives.

Choosing among several items. A product mapped to several items lists them in order;
:meth:`FieldMapping.item_ref` returns the first (the product's default item) unless the
mapping was given an ``item_rule``, a callable that sees the product, the candidate refs
and the invoice line and returns the one to use (or its id). :func:`item_id_from_line`
builds the common rule "the line may name its item in its own custom field".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from erpsync.errors import ConfigurationError, MappingError
from erpsync.models import Ref

__all__ = [
    "FieldMapping",
    "ItemRule",
    "item_id_from_line",
]

#: ``rule(product, candidates, line) -> Ref | id``: which of a product's items a line uses.
ItemRule = Callable[[Mapping[str, Any], Sequence[Ref], Mapping[str, Any] | None], Ref | str]


@dataclass(frozen=True)
class FieldMapping:
    """Where the ERP ids live on source records, and how they are checked.

    ``custom_fields_key`` is the key holding a record's custom fields (a mapping, or
    its JSON text as found in data-export tables); a field absent there is also looked
    for at the top level of the record, as in a warehouse row where the query already
    extracted it into a column. ``id_pattern`` is what one id must look like (NetSuite
    internal ids and QuickBooks ids are digits).
    """

    item_field: str = "netsuite_internal_item_id"
    customer_field: str = "netsuite_internal_customer_id"
    sales_order_field: str = "netsuite_sales_order_id"
    custom_fields_key: str = "custom_fields"
    id_pattern: str = r"[0-9]+"
    item_rule: ItemRule | None = field(default=None, compare=False)
    _id_re: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("item_field", "customer_field", "sales_order_field", "custom_fields_key"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"FieldMapping.{name} must be a non-empty string")
        try:
            compiled = re.compile(self.id_pattern)
        except (re.error, TypeError) as exc:
            raise ConfigurationError(f"FieldMapping.id_pattern is not a regex: {exc}") from exc
        if self.item_rule is not None and not callable(self.item_rule):
            raise ConfigurationError("FieldMapping.item_rule must be callable")
        object.__setattr__(self, "_id_re", compiled)

    # -- public lookups --------------------------------------------------------------------

    def item_refs(self, product: Mapping[str, Any]) -> list[Ref]:
        """Every item a product maps to, in the order given (at least one)."""
        ids = self._ids(product, "product", self.item_field, many=True, required=True)
        return [Ref(id=item_id) for item_id in ids]

    def item_ref(self, product: Mapping[str, Any], line: Mapping[str, Any] | None = None) -> Ref:
        """The item an invoice line for ``product`` uses: the only one, the rule's pick,
        or (several items, no rule) the first listed."""
        candidates = self.item_refs(product)
        if self.item_rule is None or len(candidates) == 1:
            return candidates[0]
        picked = self.item_rule(product, candidates, line)
        picked_id = picked.id if isinstance(picked, Ref) else picked
        for candidate in candidates:
            if candidate.id == str(picked_id).strip():
                return candidate
        raise MappingError(
            f"the item rule picked {picked_id!r}, which is not one of the product's items "
            f"({', '.join(c.id for c in candidates)})",
            record=_describe("product", product),
            field=self._path(self.item_field),
        )

    def customer_ref(self, customer: Mapping[str, Any]) -> Ref:
        """The one ERP customer a customer maps to."""
        (customer_id,) = self._ids(
            customer, "customer", self.customer_field, many=False, required=True
        )
        return Ref(id=customer_id)

    def sales_order_ref(self, contract: Mapping[str, Any]) -> Ref | None:
        """The contract's sales order, or None when it has none (the field is optional:
        only order-fulfilment users set it)."""
        ids = self._ids(contract, "contract", self.sales_order_field, many=False, required=False)
        return Ref(id=ids[0]) if ids else None

    # -- parsing ---------------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return f"{self.custom_fields_key}.{name}"

    def _raw_value(self, record: Mapping[str, Any], kind: str, name: str) -> Any:
        if not isinstance(record, Mapping):
            raise MappingError(f"a {kind} record must be a mapping, not {type(record).__name__}")
        fields = record.get(self.custom_fields_key)
        if isinstance(fields, str | bytes) and fields.strip():
            try:
                fields = json.loads(fields)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise MappingError(
                    f"the {kind}'s {self.custom_fields_key} is not valid JSON: {exc}",
                    record=_describe(kind, record),
                    field=self.custom_fields_key,
                ) from exc
        if fields is not None and fields != "" and not isinstance(fields, Mapping):
            raise MappingError(
                f"the {kind}'s {self.custom_fields_key} must be an object, "
                f"not {type(fields).__name__}",
                record=_describe(kind, record),
                field=self.custom_fields_key,
            )
        if isinstance(fields, Mapping) and fields.get(name) not in (None, ""):
            return fields[name]
        return record.get(name)

    def _ids(
        self, record: Mapping[str, Any], kind: str, name: str, *, many: bool, required: bool
    ) -> list[str]:
        value = self._raw_value(record, kind, name)
        site = _Site(f"the {kind}'s {name}", _describe(kind, record), self._path(name))
        ids = self._parse(value, site)
        if not ids:
            if not required:
                return []
            raise site.error(
                f"the {kind} has no {name}",
                hint=f"Set the {kind}'s custom field {name} to the ERP internal id",
            )
        if not many and len(ids) > 1:
            raise site.error(
                f"{site.what} holds {len(ids)} ids ({', '.join(ids)}) "
                "but maps to exactly one record"
            )
        return ids

    def _parse(self, value: Any, site: _Site) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise site.error(
                        f"{site.what} looks like a JSON list but is not one: {exc}"
                    ) from exc
            else:
                value = text.split(",")
        elif isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        elif not isinstance(value, list | tuple):
            raise site.error(
                f"{site.what} must be an id, a comma-separated string of ids "
                f"or a list of ids, not {type(value).__name__} {value!r}"
            )
        ids: list[str] = []
        for part in value:
            item_id = self._one_id(part, site)
            if item_id not in ids:
                ids.append(item_id)
        return ids

    def _one_id(self, part: Any, site: _Site) -> str:
        if isinstance(part, int) and not isinstance(part, bool):
            text = str(part)
        elif isinstance(part, str):
            text = part.strip()
        else:
            raise site.error(f"{site.what} contains {part!r}, which is not an id")
        if not self._id_re.fullmatch(text):
            raise site.error(
                f"{site.what} contains {text!r}, which is not a valid id "
                f"(expected {self.id_pattern})"
            )
        return text


@dataclass(frozen=True)
class _Site:
    """Where a value came from, for error messages: what, which record, which field."""

    what: str
    record: str
    field: str

    def error(self, message: str, hint: str | None = None) -> MappingError:
        return MappingError(message, record=self.record, field=self.field, hint=hint)


def item_id_from_line(
    field_name: str = "netsuite_internal_item_id", *, custom_fields_key: str = "custom_fields"
) -> ItemRule:
    """A rule: use the item id the invoice line names in its own custom field, and the
    product's first item when the line names none.

    For products that stand for several items (a tier, a region), where the billing
    platform marks each line with the item it belongs to.
    """

    def rule(
        product: Mapping[str, Any], candidates: Sequence[Ref], line: Mapping[str, Any] | None
    ) -> Ref | str:
        if line is None:
            return candidates[0]
        fields = line.get(custom_fields_key)
        if isinstance(fields, str) and fields.strip():
            try:
                fields = json.loads(fields)
            except json.JSONDecodeError as exc:
                raise MappingError(
                    f"the line's {custom_fields_key} is not valid JSON: {exc}",
                    record=_describe("line", line),
                    field=custom_fields_key,
                ) from exc
        chosen = fields.get(field_name) if isinstance(fields, Mapping) else None
        if chosen is None:
            chosen = line.get(field_name)
        if chosen is None or (isinstance(chosen, str) and not chosen.strip()):
            return candidates[0]
        if isinstance(chosen, int) and not isinstance(chosen, bool):
            return str(chosen)
        if isinstance(chosen, str):
            return chosen.strip()
        raise MappingError(
            f"the line's {field_name} must be an id, not {type(chosen).__name__}",
            record=_describe("line", line),
            field=f"{custom_fields_key}.{field_name}",
        )

    return rule


def _describe(kind: str, record: Mapping[str, Any]) -> str:
    """``product 'prod_1' (Compute hours)``: enough to find the record in its system."""
    if not isinstance(record, Mapping):
        return kind
    record_id = record.get("id")
    name = record.get("name")
    text = kind
    if record_id not in (None, ""):
        text += f" {str(record_id)!r}"
    if isinstance(name, str) and name.strip():
        text += f" ({name.strip()})"
    return text
