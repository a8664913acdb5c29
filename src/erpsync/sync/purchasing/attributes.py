"""The custom attributes the purchasing workflow writes on local orders and lines, and
how their values are read back (a local receipt line finds its ERP line through them).
"""

from __future__ import annotations

from dataclasses import dataclass

from erpsync.errors import ConfigurationError

__all__ = ["AttributeMapping", "attribute_line_id", "truthy"]


@dataclass(frozen=True, slots=True)
class AttributeMapping:
    """The names of the custom attributes the sync writes on local orders and lines.

    The defaults are seed 004's ION attributes: the order's ERP document number
    (``"Netsuite PO Number"``, a string: the two systems number orders differently) and
    record id (``"Netsuite RecordID"``); on each line, whether the ERP lets it be
    received (``"Non-receivable"``, a boolean) and its ERP line id (``"ns_line_id"``, a
    number), which is how a local receipt line finds its way back to the ERP.
    """

    po_number: str = "Netsuite PO Number"
    record_id: str = "Netsuite RecordID"
    non_receivable: str = "Non-receivable"
    line_id: str = "ns_line_id"

    def __post_init__(self) -> None:
        names = (self.po_number, self.record_id, self.non_receivable, self.line_id)
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise ConfigurationError(f"attribute names must be non-empty strings, not {name!r}")
        if (
            len({self.po_number, self.record_id}) != 2
            or len({self.non_receivable, self.line_id}) != 2
        ):
            raise ConfigurationError("two attributes of the same record cannot share a name")


def truthy(value: object) -> bool:
    """A local system's boolean attribute, however it stores it (``"Yes"``, ``1``...)."""
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "t", "yes", "y", "1"}
    return value is True or (isinstance(value, int) and value == 1)


def attribute_line_id(line_id: str) -> int | str:
    """Seed 004 declares ``ns_line_id`` a Number: NetSuite's line ids are."""
    return int(line_id) if line_id.isdigit() else line_id
