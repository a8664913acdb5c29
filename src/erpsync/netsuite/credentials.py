"""NetSuite credential material: keys and certificates for OAuth 2.0 M2M.

The counterpart of :mod:`erpsync.quickbooks.tokens` (the credential each ERP's auth
holds). :func:`load_private_key` reads a key, :func:`check_key` refuses what NetSuite
would refuse, :func:`algorithm_for_key` picks the JWT algorithm a key signs with.

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
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from erpsync.errors import ConfigurationError
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.wire import MAX_CERTIFICATE_DAYS, MIN_RSA_BITS

__all__ = [
    "ALGORITHMS",
    "MAX_CERTIFICATE_DAYS",
    "MIN_RSA_BITS",
    "GeneratedCertificate",
    "PrivateKey",
    "algorithm_for_key",
    "check_key",
    "generate_certificate",
    "load_private_key",
    "read_key_bytes",
]


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
    key, algorithm, digest = _new_key(key_type, key_size, curve)
    start = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    not_before = start - timedelta(minutes=1)  # tolerate a little clock skew at upload
    not_after = not_before + timedelta(days=days)
    certificate = _self_signed(key, digest, common_name, not_before, not_after)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex(":").upper()

    _write_files(((key_path, key_pem, 0o600), (cert_path, cert_pem, 0o644)), overwrite)
    return GeneratedCertificate(
        private_key_pem=key_pem,
        certificate_pem=cert_pem,
        fingerprint=fingerprint,
        not_after=not_after,
        algorithm=algorithm,
    )


def _new_key(key_type: object, key_size: object, curve: str) -> tuple[PrivateKey, str, _Digest]:
    """A fresh key NetSuite accepts, the JWT algorithm it signs with, and its digest."""
    if key_type == "rsa":
        if not isinstance(key_size, int) or key_size < MIN_RSA_BITS:
            raise ConfigurationError(
                f"key_size must be at least {MIN_RSA_BITS} bits for NetSuite", backend=BACKEND
            )
        return (
            rsa.generate_private_key(public_exponent=65537, key_size=key_size),
            "PS256",
            (hashes.SHA256()),
        )
    if key_type == "ec":
        if curve not in _CURVES:
            raise ConfigurationError(
                f"curve must be one of {', '.join(_CURVES)}, not {curve!r}", backend=BACKEND
            )
        ec_curve, algorithm, digest = _CURVES[curve]
        return ec.generate_private_key(ec_curve), algorithm, digest
    raise ConfigurationError(f"key_type must be 'rsa' or 'ec', not {key_type!r}", backend=BACKEND)


def _self_signed(
    key: PrivateKey,
    digest: _Digest,
    common_name: str,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A self-signed certificate for signing only (no CA, no key encipherment)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, digest)
    )


def _write_files(
    targets: tuple[tuple[str | os.PathLike[str] | None, str, int], ...], overwrite: bool
) -> None:
    """Write the key and certificate where asked, refusing to replace existing files
    unless ``overwrite`` (checked for all before any is written)."""
    resolved = [(Path(p).expanduser(), text, mode) for p, text, mode in targets if p is not None]
    if not overwrite:
        for path, _, _ in resolved:
            if path.exists():
                raise ConfigurationError(
                    f"{str(path)!r} already exists; pass overwrite=True to replace it",
                    backend=BACKEND,
                )
    for path, text, mode in resolved:
        _write_atomically(path, text, mode)


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


# -- loading and checking keys -----------------------------------------------------------

#: JWT algorithm -> (key type, EC curve). RS256 is deliberately absent: NetSuite stopped
#: accepting it, see :func:`check_key`.
ALGORITHMS: Final[dict[str, tuple[str, str | None]]] = {
    "PS256": ("rsa", None),
    "PS384": ("rsa", None),
    "PS512": ("rsa", None),
    "ES256": ("ec", "secp256r1"),
    "ES384": ("ec", "secp384r1"),
    "ES512": ("ec", "secp521r1"),
}


def read_key_bytes(source: str | bytes | os.PathLike[str]) -> bytes:
    """The key's bytes from PEM text, bytes or a path; an unreadable file names its path."""
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    if isinstance(source, str) and "-----BEGIN" in source:
        return source.encode("utf-8")
    if not isinstance(source, str | os.PathLike):
        raise ConfigurationError(
            f"private_key must be PEM text, bytes or a path, not {type(source).__name__}",
            backend=BACKEND,
        )
    path = Path(source).expanduser()
    # A path is not a secret: name it, unless the value looks like key material pasted
    # without its PEM header (a long run of base64), which must not reach a message.
    shown = "" if _looks_like_key_material(source) else f" {str(path)!r}"
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"could not read the private key file{shown}: {exc.strerror or type(exc).__name__}",
            backend=BACKEND,
            hint="Pass the PEM text, its bytes, or the path of a readable PEM file",
        ) from None


def load_private_key(
    source: str | bytes | os.PathLike[str], password: str | bytes | None = None
) -> PrivateKey:
    """An RSA or EC private key from PEM text, PEM/DER bytes or a path, or a
    :class:`~erpsync.errors.ConfigurationError` saying what is wrong with it."""
    data = read_key_bytes(source)
    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        if b"-----BEGIN" in data:
            key: Any = serialization.load_pem_private_key(data, password=secret)
        else:
            key = serialization.load_der_private_key(data, password=secret)
    except TypeError:
        raise ConfigurationError(
            "the private key is encrypted and no private_key_password was given"
            if secret is None
            else "a private_key_password was given but the private key is not encrypted",
            backend=BACKEND,
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(
            "private_key is not a readable private key (or the password is wrong)",
            backend=BACKEND,
            hint="Expected a PEM 'PRIVATE KEY' block for an RSA or EC key",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigurationError(
            f"NetSuite accepts RSA or EC keys, not {type(key).__name__}", backend=BACKEND
        )
    return key


def check_key(key: PrivateKey, algorithm: str) -> None:
    """Refuse, before any request, what NetSuite would refuse with an opaque error."""
    if algorithm.upper() == "RS256":
        raise ConfigurationError(
            "NetSuite no longer accepts RS256 client assertions",
            backend=BACKEND,
            hint="Use PS256 (the default) with the same RSA key, or ES256 with an EC P-256 key",
        )
    if algorithm not in ALGORITHMS:
        raise ConfigurationError(
            f"unsupported algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}",
            backend=BACKEND,
        )
    kind, curve = ALGORITHMS[algorithm]
    if kind == "rsa":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError(
                f"{algorithm} needs an RSA key, but the private key is EC", backend=BACKEND
            )
        if key.key_size < MIN_RSA_BITS:
            raise ConfigurationError(
                f"the RSA key has {key.key_size} bits; NetSuite requires at least {MIN_RSA_BITS}",
                backend=BACKEND,
                hint="Make a new key and certificate with erpsync's generate_certificate()",
            )
        return
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigurationError(
            f"{algorithm} needs an EC key, but the private key is RSA",
            backend=BACKEND,
            hint="Use PS256 with an RSA key",
        )
    if key.curve.name != curve:
        matching = next((a for a, (_, c) in ALGORITHMS.items() if c == key.curve.name), None)
        raise ConfigurationError(
            f"{algorithm} needs an EC key on {curve}, but the key is on {key.curve.name}",
            backend=BACKEND,
            hint=f"Use algorithm={matching!r}" if matching else "Use a P-256, P-384 or P-521 key",
        )


def algorithm_for_key(key: PrivateKey) -> str:
    """The JWT algorithm a key signs with: PS256 for RSA, ES256/ES384/ES512 for an EC key
    on P-256/384/521 (the curve decides the hash, so there is one right answer)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        for algorithm, (kind, curve) in ALGORITHMS.items():
            if kind == "ec" and curve == key.curve.name:
                return algorithm
        raise ConfigurationError(
            f"NetSuite accepts EC keys on P-256, P-384 or P-521, not {key.curve.name}",
            backend=BACKEND,
        )
    return "PS256"


def _looks_like_key_material(source: str | os.PathLike[str]) -> bool:
    if isinstance(source, os.PathLike):
        return False
    # The shortest key NetSuite takes (EC P-256, DER in base64) is ~180 characters; a
    # path that long made only of base64 characters (no '.', '-', '_' or '~') is not.
    return len(source) >= 64 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", source) is not None
