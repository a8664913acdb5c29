"""Secrets are removed from any text that leaves the library.

Through the public ways text leaves it: a log record passed through
:class:`erpsync.http.RedactingFilter` (what erpsync's own log lines and the third-party
loggers get), and the ``raw`` body an error carries (redacted, then shortened).
"""

from __future__ import annotations

import logging

from erpsync import ErpSyncError
from erpsync.http import RedactingFilter

REDACTED = "***"


def redact(text: str) -> str:
    """What a log line holding ``text`` reads once the redacting filter has seen it."""
    record = logging.LogRecord("somelib", logging.DEBUG, __file__, 1, "%s", (text,), None)
    assert RedactingFilter().filter(record) is True
    return record.getMessage()


def test_bearer_and_basic_values() -> None:
    assert redact("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    assert redact("Basic Y2xpZW50OnNlY3JldA==") == "Basic ***"


def test_oauth1_header() -> None:
    text = 'OAuth realm="123_SB1", oauth_consumer_key="ck", oauth_signature="sig%3D"'
    assert "sig%3D" not in redact(text)
    assert "ck" not in redact(text)


def test_json_form_and_repr_fields() -> None:
    assert redact('{"refresh_token": "rt", "realmId": "1"}') == (
        '{"refresh_token": "***", "realmId": "1"}'
    )
    assert redact("grant_type=refresh_token&refresh_token=RT1&x=1") == (
        "grant_type=refresh_token&refresh_token=***&x=1"
    )
    assert redact("{'client_secret': 'cs'}") == "{'client_secret': '***'}"
    assert redact("/callback?code=AB12&state=xyz&realmId=9") == (
        "/callback?code=***&state=xyz&realmId=9"
    )


def test_json_error_codes_stay_readable() -> None:
    body = '{"Fault":{"Error":[{"code":"6240"}]}}'
    assert redact(body) == body


def test_private_keys_and_jwts() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
    assert "MIIE" not in redact(f"key: {pem}")
    assert redact("assertion eyJhbGciOi.eyJpc3Mi.sig") == f"assertion {REDACTED}"


def test_an_error_body_is_redacted_then_shortened_saying_how_much_was_cut() -> None:
    assert ErpSyncError("x", raw="abc").raw == "abc"
    body = '{"access_token": "at123456"}' + "x" * 3000
    raw = ErpSyncError("refused", raw=body).raw
    assert raw is not None
    assert "at123456" not in raw
    assert raw.startswith('{"access_token": "***"}')
    assert raw.endswith("more characters]")
    assert len(raw) < len(body)


def test_shapes_oauthlib_logs_at_debug() -> None:
    # The signature base string: percent-encoded form fields, also after "%26".
    base = "GET&https%3A%2F%2Fh%2Fx&limit%3D5%26oauth_token%3Dtok123456%26oauth_version%3D1.0"
    assert redact(base) == (
        "GET&https%3A%2F%2Fh%2Fx&limit%3D5%26oauth_token%3D***%26oauth_version%3D1.0"
    )
    # Collected parameters as (name, value) pairs, and bytes reprs of headers.
    assert redact("[('oauth_token', 'tok123456'), ('limit', '5')]") == (
        "[('oauth_token', '***'), ('limit', '5')]"
    )
    assert redact("{b'access_token': b'at123456'}") == "{b'access_token': b'***'}"
    # oauthlib's Client repr and its "Signature:" line.
    assert "tok123456" not in redact("<Client client_key=ck, resource_owner_key=tok123456>")
    assert redact("Signature: hjGVwVMw5B/11OGN2djXoHNqJ3vy5bxs=") == "Signature: ***"
    # A short word after "signature:" is prose, not a signature.
    assert redact("webhook signature: mismatch") == "webhook signature: mismatch"


def test_passwords_in_urls() -> None:
    text = "could not connect to postgresql://erp:s3cr3t@db.example:5432/x, redis://:pw@h:6379/0"
    assert (
        redact(text)
        == "could not connect to postgresql://erp:***@db.example:5432/x, redis://:***@h:6379/0"
    )
    assert "s3cr3t" not in str(ErpSyncError(f"the store failed: {text}"))
    assert (
        redact("https://example.com/a:b@c") == "https://example.com/a:b@c"
    )  # a path, not a password
