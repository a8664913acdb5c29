"""Exit codes, and turning an exception into one readable line.

Scripts and schedulers branch on the exit code, people read the line. The codes:

==== ==================================================================================
0    everything asked for was done
1    partial failure: the command ran, some records failed (see the report / run log)
2    usage or configuration error: bad arguments, a missing setting, unreadable input
3    authentication error: the ERP refused the credentials (reconnect or fix them)
4    ERP or service error: the ERP rejected a request, throttled, or could not be reached
70   internal error: a bug in erpsync (run again with ``--debug`` and report the trace)
130  interrupted (Ctrl-C)
==== ==================================================================================
"""

from __future__ import annotations

from erpsync._redact import redact
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    ErpSyncError,
    MappingError,
    PermissionDeniedError,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_SERVICE",
    "EXIT_USAGE",
    "exit_code_for",
    "one_line",
]

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_SERVICE = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


def exit_code_for(error: BaseException) -> int:
    """The exit code a command that died of ``error`` returns."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(error, ConfigurationError | MappingError):
        return EXIT_USAGE
    if isinstance(error, ErpSyncError):
        return EXIT_SERVICE
    return EXIT_INTERNAL


def one_line(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """``str(error)`` on one line with every known secret struck out.

    erpsync errors are already redacted when built; redacting again with the
    configured secret values also covers messages from elsewhere (an OSError naming a
    file that happens to hold a key, a third-party exception).
    """
    if isinstance(error, ErpSyncError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return " ".join(redact(text, *secrets).split())
