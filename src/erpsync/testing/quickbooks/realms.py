"""The companies of one FakeQuickBooks: each realm's books, API state and token pair.

QuickBooks is many companies behind one host: an app connected to several companies
holds one token pair per company (each refused on every other company's paths, 403),
and Intuit's limits are counted per company and app. A :class:`Realm` is one such
company: its :class:`~.company.Company` (the books), its :class:`~.api.DataApi` (which
remembers its own ``requestid`` answers) and the credentials issued for it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from erpsync.errors import ConfigurationError
from erpsync.testing.quickbooks.api import DataApi
from erpsync.testing.quickbooks.company import Company

__all__ = [
    "AuthorizationGrant",
    "QuickBooksCredentials",
    "Realm",
    "RecordedRequest",
    "check_realm_id",
    "id_order",
    "random_text",
]

_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class QuickBooksCredentials:
    """A registered app and a token pair already issued for one company, so a client can
    connect without the consent step. The repr hides every secret."""

    client_id: str
    client_secret: str = field(repr=False)
    realm_id: str
    redirect_uri: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    verifier_token: str = field(repr=False)


@dataclass(frozen=True)
class AuthorizationGrant:
    """What the consent redirect carries: exchange ``code`` at the token endpoint."""

    code: str = field(repr=False)
    realm_id: str
    state: str | None


@dataclass(frozen=True)
class RecordedRequest:
    """One data API request as the emulator served it (for assertions)."""

    method: str
    path: str
    params: dict[str, list[str]]
    minor_version: int
    requested_minor_version: str | None
    request_id: str | None
    status: int
    intuit_tid: str


@dataclass
class Realm:
    """One company of the emulator: books, data API and its pre-issued credentials."""

    realm_id: str
    company: Company
    api: DataApi
    credentials: QuickBooksCredentials
    #: Whether the company starts with the sample customers, vendors and items.
    seed_data: bool = True
    #: The CompanyInfo name (the first company is Intuit's "Sandbox Company_US_1").
    name: str | None = None
    #: Whether the seed adds the sample invoices, payments and estimates (:mod:`.sample`).
    sample_transactions: bool = False

    def describe(self) -> dict[str, Any]:
        """What the control endpoint lists for this company (no secrets)."""
        info = self.company.company_info()
        return {"realm_id": self.realm_id, "CompanyName": info.get("CompanyName")}


def check_realm_id(realm_id: object) -> str:
    """A realm id is a string of digits (QuickBooks company ids are)."""
    text = str(realm_id)
    if isinstance(realm_id, bool) or not text.isdigit():
        raise ConfigurationError(f"realm_id is a string of digits, not {realm_id!r}")
    return text


def id_order(record: dict[str, Any]) -> tuple[int, int, str]:
    """Numeric ids in number order, then the named ones (tax codes ``TAX``, ``NON``)."""
    text = str(record.get("Id", ""))
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def random_text(rng: random.Random, length: int, alphabet: str = _ALPHANUMERIC) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))
