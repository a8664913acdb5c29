"""Tests for erpsync.netsuite.certificates: the key pair and certificate NetSuite's M2M
setup page asks for. Certificates are checked with ``cryptography``'s own parsing and
signature verification, never by re-deriving them with the code under test. (That they
sign client assertions NetSuite's verifier accepts is in test_auth.py.)"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import erpsync.netsuite
from erpsync.errors import ConfigurationError
from erpsync.netsuite import auth, certificates
from erpsync.netsuite.certificates import (
    MAX_CERTIFICATE_DAYS,
    MIN_RSA_BITS,
    GeneratedCertificate,
    generate_certificate,
)


def test_names_stay_importable_from_auth_and_the_package() -> None:
    for name in ("generate_certificate", "GeneratedCertificate"):
        assert getattr(auth, name) is getattr(certificates, name)
        assert getattr(erpsync.netsuite, name) is getattr(certificates, name)
        assert name in auth.__all__ and name in erpsync.netsuite.__all__


def test_netsuite_limits() -> None:
    assert MIN_RSA_BITS == 3072
    assert MAX_CERTIFICATE_DAYS == 730


def test_default_rsa_certificate() -> None:
    generated = generate_certificate()
    assert isinstance(generated, GeneratedCertificate)
    key = serialization.load_pem_private_key(generated.private_key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == MIN_RSA_BITS
    certificate = x509.load_pem_x509_certificate(generated.certificate_pem.encode())
    cn = certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == "erpsync"
    span = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert span == timedelta(days=MAX_CERTIFICATE_DAYS)


def test_generated_rsa_certificate_is_what_netsuite_accepts() -> None:
    generated = generate_certificate(
        "acme-netsuite", now=datetime(2026, 1, 1, 12, 0, 30, 123, tzinfo=UTC)
    )
    certificate = x509.load_pem_x509_certificate(generated.certificate_pem.encode())
    private_key = serialization.load_pem_private_key(generated.private_key_pem.encode(), None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert private_key.key_size == 3072
    assert generated.algorithm == "PS256"
    cn = certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == "acme-netsuite"
    assert certificate.issuer == certificate.subject
    span = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert span <= timedelta(days=730)
    assert certificate.not_valid_before_utc <= datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    assert certificate.not_valid_after_utc == generated.not_after
    assert generated.fingerprint == certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    # Self-signed: the certificate's own key verifies its signature.
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.public_numbers() == private_key.public_key().public_numbers()
    public_key.verify(
        certificate.signature,
        certificate.tbs_certificate_bytes,
        padding.PKCS1v15(),
        certificate.signature_hash_algorithm,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"days": 731},
        {"days": 0},
        {"key_size": 2048},
        {"key_type": "ec", "curve": "P-192"},
        {"key_type": "dsa"},
        {"common_name": ""},
    ],
)
def test_generate_certificate_refuses_what_netsuite_would(kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        generate_certificate(**kw)


def test_generate_certificate_writes_files_atomically_with_safe_modes(tmp_path: Path) -> None:
    key_path, cert_path = tmp_path / "netsuite.key", tmp_path / "netsuite.crt"
    generated = generate_certificate(key_type="ec", key_path=str(key_path), cert_path=cert_path)
    assert key_path.read_text() == generated.private_key_pem
    assert cert_path.read_text() == generated.certificate_pem
    if os.name == "posix":
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["netsuite.crt", "netsuite.key"]


def test_generate_certificate_never_replaces_a_key_by_accident(tmp_path: Path) -> None:
    key_path = tmp_path / "netsuite.key"
    key_path.write_text("the key in use")
    with pytest.raises(ConfigurationError, match="overwrite=True"):
        generate_certificate(key_type="ec", key_path=key_path)
    assert key_path.read_text() == "the key in use"
    generated = generate_certificate(key_type="ec", key_path=key_path, overwrite=True)
    assert key_path.read_text() == generated.private_key_pem


def test_generate_certificate_reports_unwritable_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot write"):
        generate_certificate(key_type="ec", key_path=tmp_path / "missing-dir" / "k.pem")


def test_generated_certificate_repr_hides_the_key() -> None:
    generated = generate_certificate(key_type="ec")
    body = generated.private_key_pem.splitlines()[1]
    assert body not in repr(generated) and "PRIVATE" not in repr(generated)
    assert generated.fingerprint in repr(generated)
