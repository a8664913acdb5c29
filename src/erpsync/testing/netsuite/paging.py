"""The ``links`` of a paged NetSuite collection (record lists and SuiteQL results).

Oracle's example of collection paging shows a first page linking ``next``, ``last`` and
``self`` only: a link appears when it leads somewhere else, so a first page has no
``first`` or ``previous``, a last page no ``next`` or ``last``, and a single page just
``self``. The order is NetSuite's: previous, first, next, last, self.
"""

from __future__ import annotations

from urllib.parse import urlencode

__all__ = ["page_links"]


def page_links(
    href: str, limit: int, offset: int, total: int, has_more: bool
) -> list[dict[str, str]]:
    """Links for the page at ``offset`` of ``total`` rows, ``limit`` rows a page."""

    def at(position: int) -> dict[str, str]:
        return {"href": f"{href}?{urlencode({'limit': limit, 'offset': position})}"}

    links: list[dict[str, str]] = []
    if offset > 0:
        links.append({"rel": "previous", **at(max(offset - limit, 0))})
        links.append({"rel": "first", **at(0)})
    if has_more:
        links.append({"rel": "next", **at(offset + limit)})
        links.append({"rel": "last", **at(max((total - 1) // limit, 0) * limit)})
    links.append({"rel": "self", **at(offset)})
    return links
