"""HTTP sessions whose connection pool fits the threads that share them.

A ``requests.Session`` keeps at most 10 connections per host (urllib3's ``maxsize``).
More threads than that on one session do not block: each thread past the tenth opens a
connection of its own and, when its answer is in, finds the pool full and closes it
("Connection pool is full, discarding connection"), so every such request pays a new
TCP (and TLS) handshake. ``create_invoices`` on a NetSuite account of concurrency 15
runs 30 threads on one session: two requests in three would reconnect.
"""

from __future__ import annotations

import requests
import requests.adapters

from erpsync.errors import ConfigurationError

__all__ = ["pooled_session"]


def pooled_session(connections: int) -> requests.Session:
    """A session that keeps up to ``connections`` connections per host (at least
    requests' default of 10), for as many threads sharing it."""
    if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
        raise ConfigurationError(f"connections must be an int >= 1, not {connections!r}")
    size = max(connections, requests.adapters.DEFAULT_POOLSIZE)
    session = requests.Session()
    for prefix in ("https://", "http://"):
        session.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=size))
    return session
