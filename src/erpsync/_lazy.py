"""Lazy package exports (PEP 562), shared by every package ``__init__``.

A package lists ``name -> module`` and gets a ``__getattr__`` that imports the module on
first use. This keeps ``import erpsync`` (and ``import erpsync.quickbooks`` in a webhook
endpoint) from loading pydantic, requests or cryptography until something needs them.
Type checkers see the real names through the packages' ``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` resolving ``exports`` lazily.

    Resolved values are cached in ``namespace`` (the package's ``globals()``) so each name
    is imported once.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
