"""Reading a status table's document: a path, or the JSON/TOML text itself.

Kept apart from :mod:`erpsync.mapping.tables` so the table stays about lookups; a
source that cannot be read is a :class:`~erpsync.errors.ConfigurationError`.
"""

from __future__ import annotations

import os
from pathlib import Path

from erpsync.errors import ConfigurationError

__all__ = ["read_source"]


def read_source(source: str | os.PathLike[str], suffix: str) -> tuple[str, str | None]:
    """(text, file stem or None): a PathLike or a one-line string naming a ``suffix``
    file or an existing file is read; any other string is the document itself."""
    if isinstance(source, str):
        looks_like_text = "\n" in source or source.lstrip()[:1] in ("{", "[")
        as_path = None if looks_like_text else Path(source).expanduser()
        if as_path is None or not (as_path.suffix == suffix or _is_file(as_path)):
            return source, None
        path = as_path
    elif isinstance(source, os.PathLike):
        path = Path(source).expanduser()
    else:
        raise ConfigurationError(
            f"a status table source is text or a path, not {type(source).__name__}"
        )
    try:
        return path.read_text(encoding="utf-8"), path.stem
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read status table file {path}: {exc}") from exc


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a long or NUL-containing document is not a path
        return False
