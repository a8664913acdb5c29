"""Keeping secrets out of the log lines of the libraries erpsync stands on.

erpsync's own log lines are built from redacted text. The libraries under it are less
careful at DEBUG level: oauthlib logs the OAuth 1.0a parameters, the signature base
string and the signature of every NetSuite request (the token id, ``oauth_token``, is in
all three); requests-oauthlib logs the signed ``Authorization`` header and, for OAuth 2
sessions, whole token responses and refresh bodies; urllib3 logs request lines with
their query strings. A service that turns on DEBUG logging to chase a sync problem must
not thereby write credentials into its log store.

Two mechanisms, because a ``logging.Filter`` attached to a *logger* only sees records
created on that very logger (not those propagated from its children):

* :func:`install_third_party_redaction` puts a :class:`RedactingFilter` on every known
  logger of oauthlib, requests-oauthlib, urllib3 and requests (and on any logger of
  theirs that exists already). :mod:`erpsync.http` calls it on import and every
  :class:`~erpsync.http.Transport` calls it again (it is idempotent and cheap), so the
  loggers of modules imported later are covered too.
* Users who log other libraries (or want belt and braces) can attach the same filter,
  public as :class:`erpsync.http.RedactingFilter`, to their *handlers*; a handler filter
  sees every record the handler writes::

      handler.addFilter(erpsync.http.RedactingFilter())
"""

from __future__ import annotations

import logging
import threading

from erpsync._redact import redact

__all__ = ["THIRD_PARTY_LOGGERS", "RedactingFilter", "install_third_party_redaction"]

#: Loggers of the HTTP and OAuth libraries under erpsync that may print credentials.
THIRD_PARTY_LOGGERS: tuple[str, ...] = (
    "oauthlib",
    "oauthlib.common",
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
    "oauthlib.oauth2.rfc6749",
    "oauthlib.oauth2.rfc6749.grant_types.base",
    "oauthlib.oauth2.rfc6749.endpoints.base",
    "requests",
    "requests_oauthlib.oauth1_auth",
    "requests_oauthlib.oauth1_session",
    "requests_oauthlib.oauth2_session",
    "urllib3",
    "urllib3.connection",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)

#: Every logger whose name starts with one of these gets the filter when it exists.
_PREFIXES = ("oauthlib", "requests_oauthlib", "urllib3", "requests")

_install_lock = threading.Lock()


class RedactingFilter(logging.Filter):
    """A filter that rewrites a record's message (and traceback) with secrets removed.

    It never drops a record: it returns True after replacing ``msg``/``args`` by the
    redacted, already formatted text when that text differs. A record whose arguments do
    not format is left alone, so that logging reports that bug as it normally would.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # the caller's bad format string: logging will report it
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters cache the traceback text here and reuse it, so the redacted
            # version is what every handler prints.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


#: The one filter instance installed on third-party loggers (one, so installing twice is
#: recognisable and harmless).
_FILTER = RedactingFilter()


def install_third_party_redaction(extra: tuple[str, ...] = ()) -> None:
    """Attach the redacting filter to the known third-party loggers (idempotent).

    ``extra`` names more loggers to cover. Loggers are created if they do not exist yet:
    the library's own ``logging.getLogger(__name__)`` later returns the same, already
    filtered, object.
    """
    with _install_lock:
        names = set(THIRD_PARTY_LOGGERS) | set(extra)
        for name in list(logging.Logger.manager.loggerDict):
            if name.split(".", 1)[0] in _PREFIXES:
                names.add(name)
        for name in sorted(names):
            target = logging.getLogger(name)
            if _FILTER not in target.filters:
                target.addFilter(_FILTER)
