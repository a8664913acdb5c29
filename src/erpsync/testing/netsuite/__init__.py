"""FakeNetSuite: an offline NetSuite, in moto's layout.

REST records, SuiteQL over SQLite (db.py, suiteql.py, totals.py), auth, RESTlets, seed and errors
beside the emulator.

The public names live here; the modules beside this one are its parts.
"""

from __future__ import annotations

from erpsync.testing.netsuite.emulator import (
    DEFAULT_PDF_DEPLOY,
    DEFAULT_PDF_SCRIPT,
    NETSUITE_GOVERNANCE,
    PDF_RESTLET_SOURCE,
    Deployment,
    FakeNetSuite,
    LoginAttempt,
    NetSuiteCredentials,
    netsuite_host,
    restlet_host,
)

__all__ = [
    "DEFAULT_PDF_DEPLOY",
    "DEFAULT_PDF_SCRIPT",
    "NETSUITE_GOVERNANCE",
    "PDF_RESTLET_SOURCE",
    "Deployment",
    "FakeNetSuite",
    "LoginAttempt",
    "NetSuiteCredentials",
    "netsuite_host",
    "restlet_host",
]
