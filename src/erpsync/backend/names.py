"""Resolving a name a person typed (a configuration screen's customer, a CSV's item) to
the Ref of the one record it names.

``find_customer`` answers None for an unknown name, which is right for a lookup but
wrong for configuration: ``Ref(id=backend.find_customer("Acme Robotic").id)`` then
fails with an AttributeError far from the typo. ``resolve_*`` fails at the name instead,
with the names that come closest, so the fix is in the message.

Finding the closest names reads the ERP's records of that kind, which only happens on
the failure path and stops after :data:`SUGGESTION_SCAN` records: a book of a hundred
thousand customers still answers in bounded time, with suggestions drawn from the
first records read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from erpsync.errors import MappingError
from erpsync.models import Ref

__all__ = ["SUGGESTION_SCAN", "UnknownNameError", "closest_names", "ref_for"]

#: How many records of a kind are read, at most, to suggest names for an unknown one.
SUGGESTION_SCAN = 2000

#: How many suggestions an error carries.
_SUGGESTIONS = 5


class UnknownNameError(MappingError):
    """No record of this kind has this name. ``closest`` lists the nearest names found
    (best first), so a user interface can offer them."""

    def __init__(self, message: str = "", *, closest: Sequence[str] = (), **kw: Any):
        self.closest: list[str] = list(closest)
        super().__init__(message, **kw)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "closest": self.closest}


def closest_names(name: str, names: Iterable[str | None]) -> list[str]:
    """The names nearest to ``name`` (case-insensitive), best first, from the first
    :data:`SUGGESTION_SCAN` of ``names``."""
    known: dict[str, str] = {}
    for candidate in islice(names, SUGGESTION_SCAN):
        if candidate:
            known.setdefault(candidate.casefold(), candidate)
    matches = difflib.get_close_matches(name.casefold(), list(known), n=_SUGGESTIONS, cutoff=0.5)
    return [known[match] for match in matches]


def ref_for(
    kind: str, name: str, found_id: str | None, found_name: str | None, names: Iterable[str | None]
) -> Ref:
    """The Ref of the record found for ``name``, or UnknownNameError naming the name and
    the closest ones (``names`` is read only when nothing was found)."""
    if found_id is not None:
        return Ref(id=found_id, name=found_name or name)
    closest = closest_names(name, names)
    hint = (
        "did you mean " + ", ".join(repr(n) for n in closest) + "?"
        if closest
        else f"no {kind} has a similar name: create it, or check the spelling"
    )
    raise UnknownNameError(
        f"no {kind} is named {name!r}",
        record=f"{kind} {name!r}",
        field="name",
        hint=hint,
        closest=closest,
    )
