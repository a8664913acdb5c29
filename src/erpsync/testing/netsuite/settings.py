"""FakeNetSuite's settings: the account's limits, host names and option types."""

from __future__ import annotations

import re
from typing import Literal

from erpsync.netsuite import wire
from erpsync.testing.core.governance import Governance

__all__ = ["ACCOUNT_ID", "NETSUITE_GOVERNANCE", "TbaConcurrencyError", "netsuite_host"]

#: How a TBA request over the concurrency limit is refused: NetSuite's documented 429
#: ``CONCURRENCY_LIMIT_EXCEEDED``, or the 401 ``INVALID_LOGIN`` it can answer instead.
TbaConcurrencyError = Literal["429", "invalid_login"]

#: A Standard (or developer) account: five concurrent requests across SOAP, REST and
#: RESTlets.
NETSUITE_GOVERNANCE = Governance(concurrency=wire.DEFAULT_CONCURRENCY)

ACCOUNT_ID = re.compile(r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)?$")


def netsuite_host(account_id: str) -> str:
    """``1234567_SB1`` -> ``1234567-sb1.suitetalk.api.netsuite.com``."""
    url = wire.REST_HOST_TEMPLATE.format(host=wire.host_label(account_id))
    return url.removeprefix("https://")
