"""Removing secrets from text before it reaches a log line, an exception or a repr.

Every place that turns a request or a response into text (the transport's log lines,
error bodies attached to exceptions, reprs of auth objects) passes it through
:func:`redact` first. The patterns are deliberately broad: a false positive costs a few
characters of a debug message, a false negative leaks a customer's books.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

REDACTED = "***"

#: Header names whose values are always secret.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "intuit-signature",
        "x-erpsync-signature",
    }
)

#: Field names (JSON keys, form fields, query parameters) whose values are secret.
SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "consumer_secret",
    "token_secret",
    "client_assertion",
    "private_key",
    "oauth_signature",
    "oauth_token",
    "resource_owner_key",
    "resource_owner_secret",
    "verifier_token",
    "password",
    "token",
    "secret",
)

#: Secret only in query strings and form bodies (the OAuth authorization code); in JSON
#: bodies ``code`` is an error code that people need to read.
SECRET_FORM_FIELDS = (*SECRET_FIELDS, "code")

_FIELDS = "|".join(re.escape(f) for f in sorted(SECRET_FIELDS, key=len, reverse=True))
_FORM_FIELDS = "|".join(re.escape(f) for f in sorted(SECRET_FORM_FIELDS, key=len, reverse=True))

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM blocks holding private keys.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL
        ),
        "-----BEGIN PRIVATE KEY-----" + REDACTED + "-----END PRIVATE KEY-----",
    ),
    # URL user information: scheme://user:password@host (database and broker URLs).
    (re.compile(r"(://[^:/@\s]*:)[^@\s/]*@"), r"\1" + REDACTED + "@"),
    # Authorization header values however they are written: "Bearer x", "Basic x", "OAuth ...".
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"(?i)\bOAuth\s+(realm|oauth_)[^\r\n]*"), "OAuth " + REDACTED),
    # JSON: "field": "value"
    (re.compile(rf'(?i)("(?:{_FIELDS})"\s*:\s*")[^"]*(")'), r"\1" + REDACTED + r"\2"),
    # Form bodies and query strings: field=value
    (re.compile(rf"(?i)(?<![A-Za-z0-9_])((?:{_FORM_FIELDS})=)[^&\s\"']+"), r"\1" + REDACTED),
    # Percent-encoded form fields, as in an OAuth 1.0a signature base string, which
    # oauthlib logs at DEBUG: oauth_token%3Dvalue%26...
    (
        re.compile(
            rf"(?i)(?:(?<![A-Za-z0-9_])|(?<=%26))((?:{_FORM_FIELDS})%3D)(?:(?!%26)[^&\s\"'])+"
        ),
        r"\1" + REDACTED,
    ),
    # Python reprs of dicts and of (name, value) pairs, str or bytes:
    # 'field': 'value', b'field': b'value', ('field', 'value')
    (re.compile(rf"(?i)(b?'(?:{_FIELDS})'\s*:\s*b?')[^']*(')"), r"\1" + REDACTED + r"\2"),
    (re.compile(rf"(?i)(\(\s*b?'(?:{_FIELDS})'\s*,\s*b?')[^']*(')"), r"\1" + REDACTED + r"\2"),
    # A bare signature after a label ("Signature: ...", oauthlib's DEBUG line).
    (re.compile(r"(?i)\b(signature:\s*)[A-Za-z0-9+/=_%-]{16,}"), r"\1" + REDACTED),
    # Compact JWTs anywhere (three base64url parts, the first starting with {"... = eyJ).
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
)


def redact(text: str, *secrets: str | None) -> str:
    """Return ``text`` with secrets replaced by ``***``.

    Besides the generic patterns, any literal value passed in ``secrets`` is removed
    wherever it appears: callers that hold a secret (an auth object, a token store)
    pass it so that it cannot leak even in a shape the patterns do not know.
    """
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with secret header values replaced."""
    return {
        name: (REDACTED if name.lower() in SECRET_HEADERS else redact(str(value)))
        for name, value in headers.items()
    }


def truncate(text: str, limit: int = 2000) -> str:
    """Shorten ``text`` for attaching to an error, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"
