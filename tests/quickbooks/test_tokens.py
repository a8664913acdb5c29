"""QuickBooksToken and the token stores (memory, file)."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from erpsync.errors import AuthenticationError, ConfigurationError, ServiceError
from erpsync.quickbooks import tokens as tokens_module
from erpsync.quickbooks.tokens import (
    FileTokenStore,
    LockingTokenStore,
    MemoryTokenStore,
    QuickBooksToken,
    TokenStore,
)

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
ACCESS = "eyJhbGciOi-access-SECRET-0001"
REFRESH = "AB11-refresh-SECRET-0001"


def body(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "token_type": "bearer",
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "expires_in": 3600,
        "x_refresh_token_expires_in": 8_726_400,
        "x_refresh_token_hard_expires_in": 157_680_000,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def make_token(
    access: str = ACCESS, refresh: str = REFRESH, realm: str = "9130"
) -> QuickBooksToken:
    return QuickBooksToken.from_response(
        body(access_token=access, refresh_token=refresh), now=NOW, realm_id=realm
    )


# -- QuickBooksToken --------------------------------------------------------------------


def test_from_response_computes_expiries_from_now() -> None:
    token = QuickBooksToken.from_response(body(), now=NOW, realm_id="9130")
    assert token.access_token == ACCESS
    assert token.refresh_token == REFRESH
    assert token.access_expires_at == NOW + timedelta(hours=1)
    assert token.refresh_expires_at == NOW + timedelta(seconds=8_726_400)
    assert token.refresh_hard_expires_at == NOW + timedelta(seconds=157_680_000)
    assert token.realm_id == "9130"
    assert token.obtained_at == NOW
    assert token.token_type == "bearer"


def test_from_response_defaults_and_numeric_strings() -> None:
    token = QuickBooksToken.from_response(
        body(
            expires_in="1800",
            x_refresh_token_expires_in=None,
            x_refresh_token_hard_expires_in=None,
            token_type=None,
        ),
        now=NOW,
    )
    assert token.access_expires_at == NOW + timedelta(seconds=1800)
    assert token.refresh_expires_at == NOW + timedelta(days=100)
    assert token.refresh_hard_expires_at is None
    assert token.realm_id is None


def test_from_response_uses_the_current_time_when_not_given() -> None:
    before = datetime.now(UTC)
    token = QuickBooksToken.from_response(body())
    assert token.obtained_at is not None
    assert before <= token.obtained_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    "bad",
    [
        body(access_token=None),
        body(refresh_token=None),
        body(access_token=""),
        body(access_token=12),
        body(expires_in="soon"),
        body(expires_in=-5),
        body(expires_in=0),
        body(expires_in=True),
        body(expires_in=[1]),
        body(x_refresh_token_hard_expires_in={}),
        body(token_type="mac"),
    ],
)
def test_malformed_answers_raise_service_error(bad: dict[str, object]) -> None:
    with pytest.raises(ServiceError) as info:
        QuickBooksToken.from_response(bad, now=NOW)
    assert info.value.retryable is False
    assert ACCESS not in str(info.value) and REFRESH not in str(info.value)


def test_non_mapping_answer_raises_service_error() -> None:
    with pytest.raises(ServiceError):
        QuickBooksToken.from_response(["not", "a", "dict"], now=NOW)  # type: ignore[arg-type]


def test_error_answer_raises_authentication_error() -> None:
    with pytest.raises(AuthenticationError) as info:
        QuickBooksToken.from_response(
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        )
    assert info.value.code == "invalid_grant"
    assert "expired or revoked" in str(info.value)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        QuickBooksToken.from_response(body(), now=datetime(2026, 1, 1))
    with pytest.raises(ConfigurationError):
        QuickBooksToken(ACCESS, REFRESH, datetime(2026, 1, 1), NOW)
    with pytest.raises(ConfigurationError):
        QuickBooksToken("", REFRESH, NOW, NOW)


def test_repr_and_str_hide_the_tokens() -> None:
    token = make_token()
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert ACCESS not in text
        assert REFRESH not in text
        assert "9130" in text


def test_validity_questions() -> None:
    token = make_token()
    assert token.access_valid(NOW)
    assert token.access_valid(NOW + timedelta(minutes=54), timedelta(minutes=5))
    assert not token.access_valid(NOW + timedelta(minutes=56), timedelta(minutes=5))
    assert not token.access_valid(NOW + timedelta(hours=1))
    assert not token.hard_expired(NOW)
    assert token.hard_expired(NOW + timedelta(seconds=157_680_000))
    no_hard = QuickBooksToken.from_response(body(x_refresh_token_hard_expires_in=None), now=NOW)
    assert not no_hard.hard_expired(NOW + timedelta(days=10_000))


def test_dict_and_json_round_trip() -> None:
    token = make_token()
    assert QuickBooksToken.from_dict(token.to_dict()) == token
    assert QuickBooksToken.from_json(token.to_json()) == token
    assert json.loads(token.to_json())["access_expires_at"] == "2026-11-03T13:00:00+00:00"
    bare = QuickBooksToken(ACCESS, REFRESH, NOW, NOW)
    assert QuickBooksToken.from_dict(bare.to_dict()) == bare


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("access_token"),
        lambda d: d.pop("access_expires_at"),
        lambda d: d.update(access_expires_at="yesterday"),
        lambda d: d.update(access_expires_at="2026-11-03T13:00:00"),  # naive
        lambda d: d.update(refresh_expires_at=12),
        lambda d: d.update(refresh_token=None),
        lambda d: d.update(realm_id=5),
        lambda d: d.update(token_type=[]),
    ],
)
def test_damaged_records_raise_configuration_error(damage: object) -> None:
    data = make_token().to_dict()
    damage(data)  # type: ignore[operator]
    with pytest.raises(ConfigurationError) as info:
        QuickBooksToken.from_dict(data)
    assert ACCESS not in str(info.value) and REFRESH not in str(info.value)


def test_from_json_rejects_non_json_and_non_objects() -> None:
    with pytest.raises(ConfigurationError):
        QuickBooksToken.from_json("{nope")
    with pytest.raises(ConfigurationError):
        QuickBooksToken.from_json("[1, 2]")


# -- MemoryTokenStore -------------------------------------------------------------------


def test_memory_store_keeps_tokens_per_realm() -> None:
    store = MemoryTokenStore()
    assert isinstance(store, TokenStore) and isinstance(store, LockingTokenStore)
    assert store.load("1") is None
    a, b = make_token(realm="1"), make_token(access="other-access-token", realm="2")
    store.save("1", a)
    store.save("2", b)
    assert store.load("1") == a and store.load("2") == b
    assert REFRESH not in repr(store) and "'1'" in repr(store)
    store.delete("1")
    assert store.load("1") is None and store.load("2") == b
    with pytest.raises(ConfigurationError):
        store.save("1", {"access_token": "x"})  # type: ignore[arg-type]


def test_memory_store_lock_is_per_realm_and_exclusive() -> None:
    store = MemoryTokenStore()
    entered = threading.Event()
    with store.lock("1"):

        def other() -> None:
            with store.lock("2"):
                pass

        other_realm = threading.Thread(target=other)
        other_realm.start()
        other_realm.join(1)
        assert not other_realm.is_alive()  # realm 2 is not blocked by realm 1

        def same_realm() -> None:
            with store.lock("1"):
                entered.set()

        t = threading.Thread(target=same_realm)
        t.start()
        assert not entered.wait(0.05)  # blocked while we hold it
    assert entered.wait(1)
    t.join(1)


# -- FileTokenStore ---------------------------------------------------------------------


def test_file_store_round_trip_several_realms(tmp_path: Path) -> None:
    path = tmp_path / "qbo.json"
    store = FileTokenStore(path)
    assert isinstance(store, LockingTokenStore)
    assert store.load("1") is None
    a, b = make_token(realm="1"), make_token(access="second-access-token", realm="2")
    store.save("1", a)
    store.save("2", b)
    # A second instance (another process, a restart) sees both.
    again = FileTokenStore(path)
    assert again.load("1") == a and again.load("2") == b
    assert again.realms() == ["1", "2"]
    data = json.loads(path.read_text())
    assert data["version"] == 1 and set(data["tokens"]) == {"1", "2"}
    again.delete("1")
    assert store.load("1") is None and store.load("2") == b
    again.delete("missing")  # nothing to do, no error
    assert str(path) in repr(store) and REFRESH not in repr(store)


def test_file_store_expands_user_and_creates_private_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = FileTokenStore("~/.config/erpsync/qbo.json")
    assert store.path == tmp_path / ".config" / "erpsync" / "qbo.json"
    store.save("1", make_token())
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.lock_path).st_mode) == 0o600


def test_file_store_does_not_chmod_an_existing_directory(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    FileTokenStore(tmp_path / "qbo.json").save("1", make_token())
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o755


def test_file_store_creates_the_temp_file_0600_exclusively_and_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[str, int, int]] = []
    synced: list[int] = []
    real_open, real_fsync = os.open, os.fsync

    def spy_open(path: str | os.PathLike[str], flags: int, mode: int = 0o777, **kw: Any) -> int:
        fd = real_open(path, flags, mode, **kw)
        opened.append((os.fspath(path), flags, mode))
        return fd

    def spy_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "fsync", spy_fsync)
    FileTokenStore(tmp_path / "qbo.json").save("1", make_token())
    temps = [(p, f, m) for p, f, m in opened if p.endswith(".tmp")]
    assert len(temps) == 1
    _, flags, mode = temps[0]
    assert mode == 0o600
    assert flags & os.O_CREAT and flags & os.O_EXCL
    directory = [p for p, f, _ in opened if p == str(tmp_path) and f & os.O_DIRECTORY]
    assert directory, "the directory is opened to be fsync-ed"
    assert len(synced) >= 2  # the temp file, then the directory


def test_crash_during_replace_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "qbo.json"
    store = FileTokenStore(path)
    old = make_token()
    store.save("1", old)
    before = path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ConfigurationError) as info:
        store.save("1", make_token(access="new-access-token-xyz", refresh="new-refresh-xyz"))
    assert "No space left" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert path.read_bytes() == before
    assert FileTokenStore(path).load("1") == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qbo.json", "qbo.json.lock"]


def test_crash_on_first_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "qbo.json"

    def crash(src: object, dst: object) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ConfigurationError):
        FileTokenStore(path).save("1", make_token())
    assert not path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["qbo.json.lock"]


def test_file_store_damaged_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "qbo.json"
    path.write_text('{"version": 1, "tokens": {"1": ')
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        FileTokenStore(path).load("1")
    path.write_text('{"tokens": []}')
    with pytest.raises(ConfigurationError, match="unknown layout"):
        FileTokenStore(path).load("1")
    path.write_text(json.dumps({"version": 1, "tokens": {"1": {"access_token": ACCESS}}}))
    with pytest.raises(ConfigurationError) as info:
        FileTokenStore(path).load("1")
    assert ACCESS not in str(info.value)


def test_file_store_warns_about_a_readable_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "qbo.json"
    store = FileTokenStore(path)
    store.save("1", make_token())
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="erpsync.quickbooks.tokens"):
        store.load("1")
        store.load("1")
    warnings = [r for r in caplog.records if "readable by other users" in r.getMessage()]
    assert len(warnings) == 1


def test_file_store_lock_is_reentrant_for_save(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "qbo.json")
    done = threading.Event()

    def work() -> None:
        with store.lock("1"):
            store.save("1", make_token())  # would deadlock on a second flock
            with store.lock("2"):
                store.delete("1")
        done.set()

    threading.Thread(target=work, daemon=True).start()
    assert done.wait(5), "save() inside lock() deadlocked"
    assert store.load("1") is None


def test_file_store_lock_excludes_other_threads_and_other_instances(tmp_path: Path) -> None:
    path = tmp_path / "qbo.json"
    store = FileTokenStore(path)
    other = FileTokenStore(path)  # separate open file description: flock conflicts
    entered = threading.Event()

    def contender(which: FileTokenStore) -> None:
        with which.lock("1"):
            entered.set()

    for candidate in (store, other):
        entered.clear()
        with store.lock("1"):
            t = threading.Thread(target=contender, args=(candidate,), daemon=True)
            t.start()
            assert not entered.wait(0.05)
        assert entered.wait(2)
        t.join(2)


def test_file_store_unreadable_path_is_a_configuration_error(tmp_path: Path) -> None:
    directory = tmp_path / "is-a-dir.json"
    directory.mkdir()
    with pytest.raises(ConfigurationError, match="could not read"):
        FileTokenStore(directory).load("1")


def test_module_exports() -> None:
    assert set(tokens_module.__all__) >= {
        "QuickBooksToken",
        "TokenStore",
        "MemoryTokenStore",
        "FileTokenStore",
    }


# -- portability: no fcntl (Windows) ------------------------------------------------------

_WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None      # import fcntl now raises ImportError, as on Windows
sys.modules["msvcrt"] = None     # and no msvcrt either: the marker-file fallback
import json, pathlib, threading
from datetime import UTC, datetime
import erpsync.quickbooks
from erpsync.quickbooks import FileTokenStore, QuickBooksToken
path = pathlib.Path(sys.argv[1])
store = FileTokenStore(path)
token = QuickBooksToken.from_response(
    {"access_token": "a" * 20, "refresh_token": "r" * 20, "expires_in": 3600,
     "x_refresh_token_expires_in": 8640000},
    now=datetime(2026, 1, 1, tzinfo=UTC), realm_id="1",
)
order = []
def worker(n):
    with store.lock("1"):
        order.append(("in", n))
        store.save("1", token)
        order.append(("out", n))
threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
[t.start() for t in threads]; [t.join(10) for t in threads]
second = FileTokenStore(path)
assert second.load("1").refresh_token == "r" * 20
assert not pathlib.Path(str(store.lock_path) + ".held").exists()
print(json.dumps({"fcntl": "fcntl" in sys.modules and sys.modules["fcntl"] is not None,
                  "order": order}))
"""


def test_quickbooks_imports_and_file_store_locks_without_fcntl(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_FCNTL, str(tmp_path / "qbo.json")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["fcntl"] is False
    order = report["order"]
    # Each holder left before the next one entered: the fallback lock excluded them.
    assert len(order) == 8
    assert all(order[i][0] == "in" and order[i + 1] == ["out", order[i][1]] for i in (0, 2, 4, 6))
