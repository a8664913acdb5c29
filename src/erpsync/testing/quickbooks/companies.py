"""What FakeQuickBooks does per company: add one, find one, read and seed its books,
change its preferences, reset it, and consent for it.

The emulator's public methods are thin; the work is here so that each realm-aware
operation is written once, for the Python API and the control endpoints alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from erpsync.errors import ConfigurationError
from erpsync.testing.core.faults import RequestMatcher
from erpsync.testing.core.wire import WireRequest
from erpsync.testing.quickbooks import recurring
from erpsync.testing.quickbooks.api import DataApi
from erpsync.testing.quickbooks.catalogue import ENTITIES
from erpsync.testing.quickbooks.company import Company
from erpsync.testing.quickbooks.errors import QboFault
from erpsync.testing.quickbooks.oauth import KNOWN_SCOPES
from erpsync.testing.quickbooks.realms import (
    AuthorizationGrant,
    QuickBooksCredentials,
    Realm,
    check_realm_id,
    id_order,
)
from erpsync.testing.quickbooks.routes import realm_of
from erpsync.testing.quickbooks.seed import seed

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.emulator import FakeQuickBooks

__all__ = [
    "add",
    "authorize",
    "find",
    "new_api",
    "realm_matcher",
    "records",
    "reset_company",
    "seed_books",
    "seed_records",
    "set_preferences",
]


def new_api(company: Company, memory: int, old: DataApi | None) -> DataApi:
    """The data API of a company (the old one, pointed at the new books, on a reset)."""
    if old is None:
        return DataApi(company, memory)
    old.reset(company)
    return old


def seed_books(company: Company, seed_data: bool, name: str | None) -> None:
    seed(company, seed_data, name=name)


def find(fake: FakeQuickBooks, realm_id: str | None) -> Realm:
    """The company ``realm_id`` names (default: the first), or a ConfigurationError."""
    key = fake.realm_id if realm_id is None else str(realm_id)
    realm = fake._realms.get(key)
    if realm is None:
        known = ", ".join(fake._realms)
        raise ConfigurationError(f"no company with realm_id {key!r}; the companies are {known}")
    return realm


def add(
    fake: FakeQuickBooks, realm_id: str | None, seed_data: bool, name: str | None
) -> QuickBooksCredentials:
    with fake._lock:
        if realm_id is None:
            realm_id = str(max(int(r) for r in fake._realms) + 1)
        realm_id = check_realm_id(realm_id)
        if realm_id in fake._realms:
            raise ConfigurationError(f"a company with realm_id {realm_id!r} already exists")
        if name is not None and not str(name).strip():
            raise ConfigurationError("a company name must not be blank")
        fake._plan.append((realm_id, bool(seed_data), name))
        realm = fake._new_realm(realm_id, bool(seed_data), name, {})
        fake._realms[realm_id] = realm
        return realm.credentials


def records(fake: FakeQuickBooks, entity: str, realm_id: str | None) -> list[dict[str, Any]]:
    if entity not in ENTITIES:
        raise ConfigurationError(
            f"unknown QuickBooks entity {entity!r}; expected one of {', '.join(ENTITIES)}"
        )
    with fake._lock:
        realm = find(fake, realm_id)
        recurring.run_due(realm.company)
        rows = sorted(realm.company.all(entity), key=id_order)
        # As a read answers them: a template as its transaction, a rate without Id, an
        # uploaded attachment with its size and URIs.
        return [realm.api.shown(entity, row) for row in rows]


def set_preferences(
    fake: FakeQuickBooks, changes: dict[str, Any], realm_id: str | None
) -> dict[str, Any]:
    if not isinstance(changes, dict):
        raise ConfigurationError("set_preferences takes a dict of Preferences sections")
    with fake._lock:
        company = find(fake, realm_id).company
        current = company.preferences()
        body = {**changes, "Id": current["Id"], "SyncToken": current["SyncToken"]}
        try:
            return company.update("Preferences", body)
        except QboFault as fault:
            raise ConfigurationError(
                f"QuickBooks would refuse these preferences: {fault.detail}",
                field=fault.element or None,
            ) from None


def seed_records(
    fake: FakeQuickBooks, wanted: Any, realm_id: str | None
) -> dict[str, list[dict[str, Any]]]:
    """Create each record through the entity rules, all or nothing per record."""
    if not isinstance(wanted, dict):
        raise ConfigurationError('seed takes {"Entity": [record, ...], ...}')
    made: dict[str, list[dict[str, Any]]] = {}
    with fake._lock:
        company = find(fake, realm_id).company
        for entity, rows in wanted.items():
            if entity not in ENTITIES or not ENTITIES[entity].allows("create"):
                raise ConfigurationError(f"{entity!r} is not an entity that can be created")
            if not isinstance(rows, list):
                raise ConfigurationError(f"seed: {entity} takes a list of records")
            for position, row in enumerate(rows):
                try:
                    made.setdefault(entity, []).append(company.create(entity, row))
                except QboFault as fault:
                    raise ConfigurationError(
                        f"QuickBooks would refuse {entity} #{position + 1}: {fault.detail}",
                        field=f"{entity}[{position}].{fault.element}".rstrip("."),
                    ) from None
    return made


def reset_company(fake: FakeQuickBooks, realm_id: str | None) -> None:
    with fake._lock:
        realm = find(fake, realm_id)
        realm.company = fake._new_company(realm.realm_id, realm.seed_data, realm.name)
        realm.api.reset(realm.company)


def authorize(
    fake: FakeQuickBooks,
    client_id: str | None,
    redirect_uri: str | None,
    scope: str,
    state: str | None,
    realm_id: str | None,
) -> AuthorizationGrant:
    """The consent step for one company, validated as the authorize endpoint does."""
    if client_id is not None and "://" in client_id:
        # An authorization URL, as a client library built it: read its parameters.
        params = {k: v[0] for k, v in parse_qs(urlsplit(client_id).query).items()}
        client_id = params.get("client_id")
        redirect_uri = redirect_uri or params.get("redirect_uri")
        scope = params.get("scope", scope)
        state = state if state is not None else params.get("state")
    realm = find(fake, realm_id)
    client_id = client_id or realm.credentials.client_id
    redirect_uri = redirect_uri or realm.credentials.redirect_uri
    app = fake.oauth.apps.get(client_id)
    if app is None:
        raise ConfigurationError(f"no app with client_id {client_id!r} is registered")
    if redirect_uri not in app.redirect_uris:
        raise ConfigurationError("redirect_uri is not registered for this app")
    scopes = tuple(scope.split())
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if not scopes or unknown:
        raise ConfigurationError(f"unknown scope(s): {' '.join(unknown) or '(none)'}")
    with fake._lock:
        code = fake.oauth.grant_code(client_id, redirect_uri, scopes, realm.realm_id)
    return AuthorizationGrant(code=code, realm_id=realm.realm_id, state=state)


def realm_matcher(realm_id: str, match: RequestMatcher | None) -> RequestMatcher:
    """``match``, narrowed to the data API requests of one company."""

    def matches(request: WireRequest) -> bool:
        return realm_of(request.path) == realm_id and (match is None or match(request))

    return matches
