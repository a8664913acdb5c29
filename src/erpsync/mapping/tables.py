"""The status-table mechanism: a declared, immutable translation from an ERP's statuses to yours.

Every integration has one (seed 004 prints NetSuite's purchase-order statuses beside
ION's), and every integration gets it subtly wrong in code: a status spelled as a code
in one API and as a label in another, a new status added by an ERP release and silently
mapped to nothing. A :class:`StatusTable` is data rather than code, so users keep their
own tables in JSON or TOML next to their configuration, and it is *strict*: a value the
table does not declare raises :class:`~erpsync.errors.MappingError` naming the value and
the table, instead of syncing a wrong status. The tables erpsync ships are
:mod:`erpsync.mapping.presets`.

Lookups are forgiving about spelling, because the same status reaches a workflow in
several spellings: NetSuite's code ``"B"``, its search filter ``"PurchOrd:B"``, the
label ``"Pending Receipt"``, SuiteQL's ``"Purchase Order : Pending Receipt"``, a REST
``"pendingReceipt"``, or erpsync's own ``PurchaseOrderStatus.PENDING_RECEIPT``
(``"pending_receipt"``). Case, punctuation, spacing and camelCase are ignored, and a
``Prefix:`` is dropped when the whole value is not declared. Two declared spellings
that become the same after this normalisation are refused when the table is built.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

from erpsync.errors import ConfigurationError, MappingError
from erpsync.mapping._sources import read_source

__all__ = ["StatusTable"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_TABLE_KEYS = frozenset({"name", "entries", "aliases", "default", "strict"})
_MISSING: Any = object()


def _normalise(value: str) -> str:
    """One spelling for ``"Pending  Receipt"``, ``"pending_receipt"``, ``"pendingReceipt"``."""
    spaced = _CAMEL.sub(" ", value)
    return _NON_WORD.sub(" ", spaced.casefold()).strip()


def _require_text(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string, not {value!r}")
    return value


class StatusTable:
    """An immutable map from remote status values to local ones.

    ``entries`` declares each remote value (a code or a label) and the local value it
    maps to. ``aliases`` gives other spellings of a declared remote value (a label for a
    code); an alias points at an entry key, never at a local value, so each status is
    mapped in exactly one place. For a value the table does not declare, ``map`` returns
    ``default`` when one is set; otherwise a strict table (the default) raises
    :class:`~erpsync.errors.MappingError` and a table built with ``strict=False`` returns
    the value unchanged, for tables that only rename a few values.

    >>> t = StatusTable("po", {"A": "Draft", "B": "Ordered"}, aliases={"Pending Receipt": "B"})
    >>> t["pending  receipt"], t.map("PurchOrd:A")
    ('Ordered', 'Draft')
    """

    __slots__ = ("_aliases", "_default", "_entries", "_index", "_name", "_strict")

    _name: str
    _entries: Mapping[str, str]
    _aliases: Mapping[str, str]
    _default: str | None
    _strict: bool
    _index: Mapping[str, str]

    def __init__(
        self,
        name: str,
        entries: Mapping[str, str],
        *,
        aliases: Mapping[str, str] | None = None,
        default: str | None = None,
        strict: bool = True,
    ) -> None:
        _require_text("a status table's name", name)
        if not isinstance(entries, Mapping) or not entries:
            raise ConfigurationError(f"status table {name!r} needs a non-empty mapping of entries")
        if default is not None:
            _require_text(f"the default of status table {name!r}", default)
        if not isinstance(strict, bool):
            raise ConfigurationError(f"strict must be True or False, not {strict!r}")

        index: dict[str, str] = {}
        clean_entries: dict[str, str] = {}
        for remote, local in entries.items():
            _require_text(f"a remote status in table {name!r}", remote)
            _require_text(f"the local status for {remote!r} in table {name!r}", local)
            self._add(index, name, remote, remote)
            clean_entries[remote] = local

        clean_aliases: dict[str, str] = {}
        for alias, target in (aliases or {}).items():
            _require_text(f"an alias in table {name!r}", alias)
            _require_text(f"the target of alias {alias!r} in table {name!r}", target)
            canonical = index.get(_normalise(target))
            if canonical is None:
                raise ConfigurationError(
                    f"alias {alias!r} in status table {name!r} points at {target!r}, "
                    "which is not one of its entries"
                )
            self._add(index, name, alias, canonical)
            clean_aliases[alias] = canonical

        set_ = object.__setattr__
        set_(self, "_name", name)
        set_(self, "_entries", MappingProxyType(clean_entries))
        set_(self, "_aliases", MappingProxyType(clean_aliases))
        set_(self, "_default", default)
        set_(self, "_strict", strict)
        set_(self, "_index", MappingProxyType(index))

    @staticmethod
    def _add(index: dict[str, str], table: str, spelling: str, canonical: str) -> None:
        key = _normalise(spelling)
        if not key:
            raise ConfigurationError(
                f"{spelling!r} in status table {table!r} has no letters or digits"
            )
        existing = index.get(key)
        if existing is not None and existing != canonical:
            raise ConfigurationError(
                f"{spelling!r} in status table {table!r} reads the same as {existing!r} "
                "once case, spacing and punctuation are ignored"
            )
        index[key] = canonical

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"StatusTable is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"StatusTable is immutable; cannot delete {name!r}")

    # -- facts ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def entries(self) -> Mapping[str, str]:
        """The declared remote -> local map (read-only)."""
        return self._entries

    @property
    def aliases(self) -> Mapping[str, str]:
        """Other spelling -> declared remote value (read-only)."""
        return self._aliases

    @property
    def default(self) -> str | None:
        return self._default

    @property
    def strict(self) -> bool:
        return self._strict

    # -- lookups -------------------------------------------------------------------------

    def _find(self, value: object) -> str | None:
        """The declared remote value that ``value`` spells, or None."""
        if not isinstance(value, str):
            return None
        found = self._index.get(_normalise(value))
        if found is None and ":" in value:
            # "PurchOrd:B", "Purchase Order : Pending Receipt": drop the record-type prefix.
            found = self._index.get(_normalise(value.rsplit(":", 1)[1]))
        return found

    def _unmapped(self, value: object) -> NoReturn:
        known = ", ".join(self._entries)
        raise MappingError(
            f"status {value!r} is not in the status table {self._name!r}",
            hint=f"Add it to the table or give the table a default (declared: {known})",
        )

    def key_for(self, value: str) -> str:
        """The declared remote value ``value`` spells: ``key_for("Pending Receipt") == "B"``.

        Raises MappingError for an undeclared value, whatever the table's default.
        """
        found = self._find(value)
        if found is None:
            self._unmapped(value)
        return found

    def map(self, value: str) -> str:
        """The local value for ``value`` (see the class docstring for unmapped values)."""
        found = self._find(value)
        if found is not None:
            return self._entries[found]
        if self._default is not None:
            return self._default
        if not self._strict and isinstance(value, str):
            return value
        self._unmapped(value)

    def __getitem__(self, value: str) -> str:
        return self.map(value)

    def get(self, value: str, default: str | None = None) -> str | None:
        """The local value for a *declared* ``value``, else ``default`` (the argument).

        Unlike :meth:`map` this never raises and ignores the table's own default and
        strictness: it answers "does the table say anything about this value?".
        """
        found = self._find(value)
        return self._entries[found] if found is not None else default

    def __contains__(self, value: object) -> bool:
        return self._find(value) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self._entries.items())

    def local_values(self) -> frozenset[str]:
        """Every local value the table can produce (its default included)."""
        values = set(self._entries.values())
        if self._default is not None:
            values.add(self._default)
        return frozenset(values)

    # -- derived tables ------------------------------------------------------------------

    def inverse(
        self, *, prefer: Mapping[str, str] | None = None, name: str | None = None
    ) -> StatusTable:
        """The local -> remote table, for writing a local status back to the ERP.

        A local value that several remote values map to (``"Ordered"`` comes from
        NetSuite's B, D and E) has no single inverse; rather than pick one silently,
        this raises MappingError naming every such value and its sources, unless
        ``prefer`` says which remote value to use for it
        (``inverse(prefer={"Ordered": "B", ...})``). The inverse is strict, has no
        aliases and no default.
        """
        sources: dict[str, list[str]] = {}
        for key, local in self._entries.items():
            sources.setdefault(local, []).append(key)
        chosen: dict[str, str] = {}
        for local, choice in (prefer or {}).items():
            if local not in sources:
                raise ConfigurationError(
                    f"prefer names {local!r}, which no entry of status table {self._name!r} maps to"
                )
            remote = self._find(choice)
            if remote is None or remote not in sources[local]:
                raise ConfigurationError(
                    f"prefer maps {local!r} to {choice!r}, but in status table {self._name!r} "
                    f"{local!r} comes from {', '.join(sources[local])}"
                )
            chosen[local] = remote
        ambiguous = []
        for local, remotes in sources.items():
            if local in chosen:
                continue
            if len(remotes) == 1:
                chosen[local] = remotes[0]
            else:
                ambiguous.append(f"{local!r} <- {', '.join(remotes)}")
        if ambiguous:
            raise MappingError(
                f"status table {self._name!r} cannot be inverted: several remote values "
                f"map to {'; '.join(ambiguous)}",
                hint="Pass prefer={local value: remote value} to choose one for each",
            )
        return StatusTable(name or f"{self._name} (inverse)", chosen)

    # -- data ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :meth:`from_dict` (and JSON) round-trips."""
        data: dict[str, Any] = {"name": self._name, "entries": dict(self._entries)}
        if self._aliases:
            data["aliases"] = dict(self._aliases)
        if self._default is not None:
            data["default"] = self._default
        if not self._strict:
            data["strict"] = False
        return data

    @classmethod
    def from_dict(cls, name: str | None, data: Mapping[str, Any]) -> StatusTable:
        """Build from ``{"entries": {...}, "aliases": {...}, "default": ..., "strict": ...}``
        or from a flat ``{remote: local}`` mapping.

        ``name`` wins over a ``"name"`` in the data; one of them must be given.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"a status table is a mapping, not {type(data).__name__}")
        if isinstance(data.get("entries"), Mapping):
            unknown = set(data) - _TABLE_KEYS
            if unknown:
                raise ConfigurationError(
                    f"unknown keys in status table data: {', '.join(sorted(unknown))} "
                    f"(expected {', '.join(sorted(_TABLE_KEYS))})"
                )
            entries = data["entries"]
            aliases = data.get("aliases") or {}
            default = data.get("default")
            strict = data.get("strict", True)
            name = name or data.get("name")
        else:
            entries, aliases, default, strict = data, {}, None, True
        if not isinstance(aliases, Mapping):
            raise ConfigurationError("a status table's aliases must be a mapping")
        return cls(
            _require_text("a status table's name", name),
            entries,
            aliases=aliases,
            default=default,
            strict=strict,
        )

    @classmethod
    def from_json(cls, source: str | os.PathLike[str], *, name: str | None = None) -> StatusTable:
        """Build from JSON text or a JSON file (see :meth:`from_dict` for the shape)."""
        text, stem = read_source(source, ".json")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"status table JSON is not valid: {exc}") from exc
        return cls._from_loaded(data, name, stem)

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str], *, name: str | None = None) -> StatusTable:
        """Build from TOML text or a TOML file: top-level ``name``/``default``/``strict``
        with ``[entries]`` and ``[aliases]`` tables, or flat ``remote = "local"`` pairs."""
        text, stem = read_source(source, ".toml")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"status table TOML is not valid: {exc}") from exc
        return cls._from_loaded(data, name, stem)

    @classmethod
    def _from_loaded(cls, data: Any, name: str | None, stem: str | None) -> StatusTable:
        if not isinstance(data, Mapping):
            raise ConfigurationError("a status table document must hold an object/table")
        if name is None and not (isinstance(data.get("entries"), Mapping) and data.get("name")):
            name = stem
        return cls.from_dict(name, data)

    # -- dunder --------------------------------------------------------------------------

    def __repr__(self) -> str:
        extras = ""
        if self._aliases:
            extras += f", aliases={dict(self._aliases)!r}"
        if self._default is not None:
            extras += f", default={self._default!r}"
        if not self._strict:
            extras += ", strict=False"
        return f"StatusTable({self._name!r}, {dict(self._entries)!r}{extras})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusTable):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(
            (
                self._name,
                tuple(self._entries.items()),
                tuple(self._aliases.items()),
                self._default,
                self._strict,
            )
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.to_dict(),))


def _rebuild(data: dict[str, Any]) -> StatusTable:
    return StatusTable.from_dict(None, data)
