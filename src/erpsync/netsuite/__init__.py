"""NetSuite: token-based auth (OAuth 1.0a, HMAC-SHA256) and OAuth 2.0 machine-to-machine
(certificate-signed JWT), REST records, SuiteQL.

``NetSuiteBackend`` implements :class:`erpsync.AccountingBackend`. Names are resolved
lazily so that importing the auth helpers does not load the whole client.

Every module has one role, and quickbooks/ has the module of the same name for it:
``wire`` (the service's facts), ``auth`` (authentication), ``token_endpoint`` (the OAuth
token POST), ``token_cache`` (where each tenant's token is kept), ``credentials``
(credential material; ``tokens`` there; ``certificates`` is its older name), ``client``
(wire client), ``answers`` (reading its answers), ``paging`` (SuiteQL over many records),
``query`` (query building), ``errors`` (error decoding), ``records`` (wire <-> models)
and ``backend`` (the AccountingBackend). NetSuite's own: ``signing`` (the TBA signature)
and ``contended_login`` (INVALID_LOGIN under load treated as throttling).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "NetSuiteBackend": "erpsync.netsuite.backend",
    "NetSuiteClient": "erpsync.netsuite.client",
    "NetSuiteAuth": "erpsync.netsuite.auth",
    "TokenBasedAuth": "erpsync.netsuite.auth",
    "ClientCredentialsAuth": "erpsync.netsuite.auth",
    "GeneratedCertificate": "erpsync.netsuite.certificates",
    "generate_certificate": "erpsync.netsuite.certificates",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from erpsync.netsuite.auth import ClientCredentialsAuth, NetSuiteAuth, TokenBasedAuth
    from erpsync.netsuite.backend import NetSuiteBackend
    from erpsync.netsuite.certificates import GeneratedCertificate, generate_certificate
    from erpsync.netsuite.client import NetSuiteClient


__getattr__, __dir__ = lazy_exports("erpsync.netsuite", _EXPORTS, globals())
