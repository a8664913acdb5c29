"""The older name of :mod:`erpsync.netsuite.credentials`, kept as an alias.

It is documented in the API reference, so ``from erpsync.netsuite.certificates import
generate_certificate`` keeps working; new code imports from
:mod:`erpsync.netsuite.credentials` (or :mod:`erpsync.netsuite`).
"""

from __future__ import annotations

from erpsync.netsuite.credentials import (
    MAX_CERTIFICATE_DAYS,
    MIN_RSA_BITS,
    GeneratedCertificate,
    PrivateKey,
    generate_certificate,
)

__all__ = [
    "MAX_CERTIFICATE_DAYS",
    "MIN_RSA_BITS",
    "GeneratedCertificate",
    "PrivateKey",
    "generate_certificate",
]
