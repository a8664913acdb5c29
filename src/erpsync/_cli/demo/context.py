"""What every demo step shares: the per-ERP context, a step's result, skipping."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from erpsync._cli.output import Output
from erpsync.errors import ConfigurationError
from erpsync.models import Invoice, Payment, Ref

if TYPE_CHECKING:
    from erpsync.backend import AccountingBackend
    from erpsync.store import SQLiteSyncStore
    from erpsync.testing.core.emulator import Emulator

__all__ = ["DemoContext", "Skip", "StepResult", "ids", "require_module"]


@dataclass
class StepResult:
    """One workflow on one ERP: ``ok``, ``skipped`` (with why) or ``failed``."""

    erp: str
    workflow: str
    status: str
    summary: str


@dataclass
class DemoContext:
    """What a step needs: the ERP's emulator and backend, the shared store, the folder."""

    erp: str
    fake: Emulator
    backend: AccountingBackend
    store: SQLiteSyncStore
    out_dir: Path
    out: Output
    files: list[Path] = field(default_factory=list)
    #: The local AR system's documents after the accounting sync (for reconciliation).
    local_documents: list[Invoice | Payment] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.erp.lower()


class Skip(Exception):
    """A step that cannot run in this build (a workflow module is missing)."""


def require_module(name: str) -> None:
    if importlib.util.find_spec(name) is None:
        raise Skip(f"{name} is not part of this build")


def ids(ctx: DemoContext) -> tuple[list[Ref], list[Ref]]:
    """The emulator's seeded customers and items (USD customers only)."""
    customers = [
        Ref(id=c.id, name=c.name)
        for c in ctx.backend.iter_customers()
        if c.id is not None and c.currency == "USD"
    ]
    items = [Ref(id=i.id, name=i.name) for i in ctx.backend.iter_items() if i.id is not None]
    if len(customers) < 3 or not items:
        raise ConfigurationError(f"the {ctx.erp} emulator has too little seed data for the demo")
    service = [
        i for i in items if i.name and ("serv" in i.name.lower() or "mach" in i.name.lower())
    ]
    return customers, service or items


# -- marketplace invoicing (seeds 000 / 001) --------------------------------------------------
