"""What both emulators share: the request loop, clock, faults, governance, interception,
the loopback server, wire request/response shapes and PDF rendering.

Nothing here is imported by ``import erpsync.testing`` until a name is used, so the
pytest plugin and ``erpsync`` itself stay cheap to import.
"""

from __future__ import annotations

from erpsync.errors import ConfigurationError

__all__ = ["MissingExtraError", "require_responses"]


class MissingExtraError(ConfigurationError, ModuleNotFoundError):
    """An optional dependency of ``erpsync.testing`` is not installed.

    Both a :class:`~erpsync.errors.ConfigurationError` (erpsync's tree) and a
    ``ModuleNotFoundError`` (so ``except ImportError`` around an optional import keeps
    working), with the ``pip install`` line that fixes it.
    """


def require_responses() -> None:
    """Raise :class:`MissingExtraError` when ``responses`` is missing.

    The emulators intercept ``requests`` in-process through it; without it a bare
    ``ModuleNotFoundError`` would not say which extra to install.
    """
    try:
        import responses
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            "erpsync.testing needs the 'responses' package, which is not installed",
            hint='pip install "erpsync[testing]"',
        ) from exc
