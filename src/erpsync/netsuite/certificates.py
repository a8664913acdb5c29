"""NetSuite credential material: the key pair and certificate for OAuth 2.0 M2M.

NetSuite's OAuth 2.0 client credentials (machine-to-machine) flow authenticates with a
JWT signed by a private key whose self-signed certificate a person uploads on the
"OAuth 2.0 Client Credentials (M2M) Setup" page. :func:`generate_certificate` makes
that pair within NetSuite's rules (RSA of at least :data:`MIN_RSA_BITS` bits or EC on
P-256/384/521, valid for at most :data:`MAX_CERTIFICATE_DAYS` days), and writes the key
file so that it is never half-written nor world-readable. The rules on keys live here
so that :mod:`erpsync.netsuite.auth`, which loads and checks a key before signing with
it, applies the same ones.

The private key never appears in a repr; :class:`GeneratedCertificate` hides it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from erpsync.errors import ConfigurationError
from erpsync.netsuite.errors import BACKEND

__all__ = [
    "MAX_CERTIFICATE_DAYS",
    "MIN_RSA_BITS",
    "GeneratedCertificate",
    "PrivateKey",
    "generate_certificate",
]

#: NetSuite refuses a certificate valid for more than two years.
MAX_CERTIFICATE_DAYS: Final = 730
#: NetSuite refuses smaller RSA keys, for signing assertions as for certificates.
MIN_RSA_BITS: Final = 3072

#: The private keys NetSuite's M2M flow can sign with.
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_Digest = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_CURVES: Final[dict[str, tuple[ec.EllipticCurve, str, _Digest]]] = {
    "P-256": (ec.SECP256R1(), "ES256", hashes.SHA256()),
    "P-384": (ec.SECP384R1(), "ES384", hashes.SHA384()),
    "P-521": (ec.SECP521R1(), "ES512", hashes.SHA512()),
}


@dataclass(frozen=True)
class GeneratedCertificate:
    """A key pair and self-signed certificate for NetSuite's M2M setup page.

    Upload ``certificate_pem``; keep ``private_key_pem`` for
    :class:`ClientCredentialsAuth`, with ``algorithm`` as its algorithm.
    """

    private_key_pem: str = field(repr=False)
    certificate_pem: str
    fingerprint: str
    not_after: datetime
    algorithm: str


def generate_certificate(
    common_name: str = "erpsync",
    *,
    key_type: Literal["rsa", "ec"] = "rsa",
    key_size: int = 3072,
    curve: str = "P-256",
    days: int = MAX_CERTIFICATE_DAYS,
    key_path: str | os.PathLike[str] | None = None,
    cert_path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    now: datetime | None = None,
) -> GeneratedCertificate:
    """Make a private key and a self-signed X.509 certificate NetSuite will accept.

    NetSuite takes RSA keys of 3072 bits or more, or EC keys on P-256/384/521, in a
    certificate valid for at most two years. When ``key_path`` is given the key is
    written with mode 0600 atomically (a crash never leaves half a key); an existing
    file is only replaced with ``overwrite=True``, since replacing a key that is in use
    breaks the integration.
    """
    if not isinstance(common_name, str) or not common_name.strip():
        raise ConfigurationError("common_name must be a non-empty string", backend=BACKEND)
    common_name = common_name.strip()
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_CERTIFICATE_DAYS:
        raise ConfigurationError(
            f"days must be between 1 and {MAX_CERTIFICATE_DAYS}: NetSuite refuses certificates "
            "valid for more than two years",
            backend=BACKEND,
        )
    key: PrivateKey
    if key_type == "rsa":
        if not isinstance(key_size, int) or key_size < MIN_RSA_BITS:
            raise ConfigurationError(
                f"key_size must be at least {MIN_RSA_BITS} bits for NetSuite", backend=BACKEND
            )
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        algorithm = "PS256"
        digest: _Digest = hashes.SHA256()
    elif key_type == "ec":
        if curve not in _CURVES:
            raise ConfigurationError(
                f"curve must be one of {', '.join(_CURVES)}, not {curve!r}", backend=BACKEND
            )
        ec_curve, algorithm, digest = _CURVES[curve]
        key = ec.generate_private_key(ec_curve)
    else:
        raise ConfigurationError(
            f"key_type must be 'rsa' or 'ec', not {key_type!r}", backend=BACKEND
        )

    start = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    not_before = start - timedelta(minutes=1)  # tolerate a little clock skew at upload
    not_after = not_before + timedelta(days=days)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, digest)
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex(":").upper()

    targets = [
        (p, text, mode)
        for p, text, mode in ((key_path, key_pem, 0o600), (cert_path, cert_pem, 0o644))
        if p is not None
    ]
    resolved = [(Path(p).expanduser(), text, mode) for p, text, mode in targets]
    if not overwrite:
        for path, _, _ in resolved:
            if path.exists():
                raise ConfigurationError(
                    f"{str(path)!r} already exists; pass overwrite=True to replace it",
                    backend=BACKEND,
                )
    for path, text, mode in resolved:
        _write_atomically(path, text, mode)
    return GeneratedCertificate(
        private_key_pem=key_pem,
        certificate_pem=cert_pem,
        fingerprint=fingerprint,
        not_after=not_after,
        algorithm=algorithm,
    )


def _write_atomically(path: Path, text: str, mode: int) -> None:
    """Temp file in the same directory, fsync, rename: readers see all or nothing.

    The temp file is created 0600 by ``mkstemp``, so the key is never world-readable,
    not even for a moment.
    """
    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write {str(path)!r}: {exc.strerror or type(exc).__name__}", backend=BACKEND
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ConfigurationError(
            f"cannot write {str(path)!r}: {exc.strerror or type(exc).__name__}", backend=BACKEND
        ) from None
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
