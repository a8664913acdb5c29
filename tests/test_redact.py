"""Secrets are removed from any text that leaves the library."""

from __future__ import annotations

from erpsync._redact import REDACTED, redact, redact_headers, truncate


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


def test_literal_secrets_removed_wherever_they_are() -> None:
    assert redact("weird place: s3cr3t-value!", "s3cr3t-value") == "weird place: ***!"
    assert redact("short ab", "ab") == "short ab"  # too short to be a secret worth a hole


def test_headers() -> None:
    out = redact_headers({"Authorization": "x", "intuit_tid": "1-2", "Cookie": "c"})
    assert out == {"Authorization": REDACTED, "intuit_tid": "1-2", "Cookie": REDACTED}


def test_truncate_says_how_much_was_cut() -> None:
    assert truncate("abc", 5) == "abc"
    assert truncate("abcdefgh", 3) == "abc... [5 more characters]"


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
