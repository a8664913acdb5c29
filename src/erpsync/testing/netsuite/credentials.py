"""The credentials a FakeNetSuite account hands out, and the certificate checks.

A real account gives an integration four TBA values (consumer key/secret, token
id/secret) and, for OAuth 2.0 machine-to-machine, a certificate id for the public
certificate the integrator uploaded. The emulator makes all of them up front so a test
can connect in one line, except the RSA key pair: a 3072-bit key takes a noticeable
moment to generate, so it is made on first use and shared by every emulator in the
process (it is a test key; sharing it costs nothing and keeps suites fast).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from erpsync.errors import ConfigurationError

#: Longest certificate validity NetSuite accepts on the M2M setup page.
MAX_CERTIFICATE_DAYS = 730

#: Public key types NetSuite accepts for M2M certificates.
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_EC_CURVES = ("secp256r1", "secp384r1", "secp521r1")


@functools.cache
def _default_key_pair() -> tuple[str, str]:
    """(private key PEM, self-signed certificate PEM), generated once per process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "erpsync FakeNetSuite M2M")])
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=MAX_CERTIFICATE_DAYS - 1))
        .sign(key, hashes.SHA256())
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True, repr=False)
class NetSuiteCredentials:
    """What an administrator would copy out of the account for an integration.

    ``client_id`` is the integration's consumer key, as in NetSuite. The private key
    and certificate are produced on first access. ``repr`` shows no secret.
    """

    account_id: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str
    client_id: str
    certificate_id: str
    _key_pair: Callable[[], tuple[str, str]] = field(default=_default_key_pair, compare=False)

    @property
    def private_key_pem(self) -> str:
        return self._key_pair()[0]

    @property
    def certificate_pem(self) -> str:
        return self._key_pair()[1]

    def __repr__(self) -> str:
        return (
            f"NetSuiteCredentials(account_id={self.account_id!r}, "
            f"certificate_id={self.certificate_id!r}, secrets=***)"
        )

    __str__ = __repr__


def make_credentials(account_id: str, seed: int) -> NetSuiteCredentials:
    """Deterministic 64-hex-digit values, like the ones NetSuite shows once."""
    rng = random.Random(f"{seed}:{account_id}")

    def hex64() -> str:
        return f"{rng.getrandbits(256):064x}"

    consumer_key = hex64()
    return NetSuiteCredentials(
        account_id=account_id,
        consumer_key=consumer_key,
        consumer_secret=hex64(),
        token_id=hex64(),
        token_secret=hex64(),
        client_id=consumer_key,
        certificate_id=f"{rng.getrandbits(128):032x}",
    )


def load_certificate(cert_pem: str | bytes) -> PublicKey:
    """The public key of an uploaded certificate, refusing what NetSuite refuses."""
    data = cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigurationError("The certificate is not a PEM X.509 certificate.") from exc
    span = cert.not_valid_after_utc - cert.not_valid_before_utc
    if span > timedelta(days=MAX_CERTIFICATE_DAYS):
        raise ConfigurationError(
            f"NetSuite accepts certificates valid for at most {MAX_CERTIFICATE_DAYS} days; "
            f"this one is valid for {span.days}."
        )
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in (3072, 4096):
            raise ConfigurationError(
                f"NetSuite accepts RSA keys of 3072 or 4096 bits, not {key.key_size}."
            )
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _EC_CURVES:
            raise ConfigurationError(f"NetSuite does not accept the EC curve {key.curve.name}.")
        return key
    raise ConfigurationError("NetSuite accepts RSA or EC certificates only.")
