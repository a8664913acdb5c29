"""QuickBooks external-id markers: ``[erpsync external_id=job-1042]`` as the last line of
``PrivateNote`` (transactions) or ``Notes`` (names).
"""

from __future__ import annotations

import re
from typing import Any

_MARKER = re.compile(r"\n?\[erpsync external_id=([A-Za-z0-9_-]{1,255})\]\s*\Z")


# -- external id markers ------------------------------------------------------------------


def with_external_id(note: str | None, external_id: str | None) -> str | None:
    """``note`` with the marker for ``external_id`` as its last line (replacing any)."""
    text = without_marker(note)
    if external_id is None:
        return text
    marker = f"[erpsync external_id={external_id}]"
    return f"{text}\n{marker}" if text else marker


def external_id_in(note: Any) -> str | None:
    """The external id a note's marker holds, if any."""
    if not isinstance(note, str):
        return None
    match = _MARKER.search(note)
    return match.group(1) if match else None


def without_marker(note: Any) -> str | None:
    """The note as the user wrote it (marker removed); None when that is empty."""
    if not isinstance(note, str):
        return None
    text = _MARKER.sub("", note).rstrip()
    return text or None
