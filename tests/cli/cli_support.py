"""What every command-line test uses: ``run(*argv)`` calls the public ``erpsync.cli.main``
in-process; ``sandbox_env`` serves an emulator the way ``erpsync sandbox`` does.

``sandbox_env`` is built from the emulators' public surface (``serve()``, ``credentials``,
``backend(token_store=...)``, which saves the pre-issued token pair), not from the
sandbox command's internals: the tests need their own emulator object (a realm of their
own, governance off, its records to assert on), which a sandbox in another process cannot give them.
The command itself is tested end to end, in a subprocess, in ``test_sandbox.py``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from erpsync.cli import main
from erpsync.quickbooks import FileTokenStore
from erpsync.testing.netsuite import FakeNetSuite
from erpsync.testing.quickbooks import FakeQuickBooks


def run(*argv: str) -> tuple[int, str, str]:
    """``erpsync --plain ARGV``: (exit code, stdout, stderr)."""
    return run_styled("--plain", *argv)


def run_styled(*argv: str) -> tuple[int, str, str]:
    """``erpsync ARGV`` with rich output when rich is installed (not a terminal: no colour)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _quickbooks_env(fake: FakeQuickBooks, url: str, workdir: Path) -> dict[str, str]:
    creds = fake.credentials
    token_file = workdir / "qbo-tokens.json"
    fake.backend(token_store=FileTokenStore(token_file))  # saves the pre-issued token pair
    return {
        "ERPSYNC_SANDBOX_URL": url,
        "ERPSYNC_ERP": "quickbooks",
        "ERPSYNC_QBO_CLIENT_ID": creds.client_id,
        "ERPSYNC_QBO_CLIENT_SECRET": creds.client_secret,
        "ERPSYNC_QBO_REALM_ID": creds.realm_id,
        "ERPSYNC_QBO_TOKEN_STORE": str(token_file),
    }


def _netsuite_env(fake: FakeNetSuite, url: str, workdir: Path) -> dict[str, str]:
    creds = fake.credentials
    key_file = workdir / "netsuite-m2m-key.pem"
    key_file.write_text(creds.private_key_pem, encoding="ascii")
    key_file.chmod(0o600)
    return {
        "ERPSYNC_SANDBOX_URL": url,
        "ERPSYNC_ERP": "netsuite",
        "ERPSYNC_NS_ACCOUNT_ID": creds.account_id,
        "ERPSYNC_NS_CONSUMER_KEY": creds.consumer_key,
        "ERPSYNC_NS_CONSUMER_SECRET": creds.consumer_secret,
        "ERPSYNC_NS_TOKEN_ID": creds.token_id,
        "ERPSYNC_NS_TOKEN_SECRET": creds.token_secret,
        "ERPSYNC_NS_CLIENT_ID": creds.client_id,
        "ERPSYNC_NS_CERTIFICATE_ID": creds.certificate_id,
        "ERPSYNC_NS_PRIVATE_KEY": str(key_file),
    }


def sandbox_env(
    kind: str, fake: FakeQuickBooks | FakeNetSuite, workdir: Path
) -> Iterator[dict[str, str]]:
    """Serve ``fake`` on a loopback port and yield the ``ERPSYNC_*`` variables that point
    the commands at it (the ones ``erpsync sandbox`` prints); stop serving afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    url = fake.serve()
    try:
        if kind == "quickbooks":
            assert isinstance(fake, FakeQuickBooks)
            yield _quickbooks_env(fake, url, workdir)
        else:
            assert isinstance(fake, FakeNetSuite)
            yield _netsuite_env(fake, url, workdir)
    finally:
        fake.shutdown()
