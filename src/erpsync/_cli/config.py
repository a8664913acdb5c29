"""Settings for the ``erpsync`` command: flags, environment variables, a TOML file.

Precedence, highest first: command-line flags, ``ERPSYNC_*`` environment variables,
the TOML file (``--config PATH``, else ``$ERPSYNC_CONFIG``, else
``$XDG_CONFIG_HOME/erpsync/config.toml`` or ``~/.config/erpsync/config.toml``), then
built-in defaults. A file named by ``--config`` or ``$ERPSYNC_CONFIG`` must exist; the
default one is optional. Every setting has exactly one environment name and one place in the
file, listed in :data:`SETTINGS`, so ``erpsync config show`` can say where each value
came from.

Secrets (client secrets, token secrets, consumer keys, PEM private keys) are never
shown: :meth:`Config.display` masks them, ``repr`` masks them, and
:meth:`Config.secret_values` hands the raw values to the error printer so that it can
strike them from any message. An unknown key in the file is an error rather than a
silent no-op, because a misspelt ``client_secret`` would otherwise surface much later
as a baffling authentication failure.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from erpsync.errors import ConfigurationError

__all__ = [
    "SETTINGS",
    "Config",
    "Setting",
    "default_config_path",
    "load_config",
]

Source = Literal["flag", "env", "file", "default"]

_MASK = "***"


@dataclass(frozen=True)
class Setting:
    """One configurable value: its dotted name, environment variable and meaning.

    ``name`` is ``key`` (top level of the file) or ``section.key``; ``secret`` values
    are masked whenever shown. ``private_key`` may be a path (shown) or PEM text
    (masked), see :meth:`Config.display`.
    """

    name: str
    env: str
    help: str
    secret: bool = False
    default: str | None = None

    @property
    def section(self) -> str | None:
        return self.name.split(".", 1)[0] if "." in self.name else None

    @property
    def key(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def _data_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME")
    return Path(base) if base else Path("~/.local/share")


def _config_home() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME")
    return Path(base) if base else Path("~/.config")


SETTINGS: tuple[Setting, ...] = (
    Setting("erp", "ERPSYNC_ERP", "default ERP for commands: quickbooks or netsuite"),
    Setting(
        "store",
        "ERPSYNC_STORE",
        "SQLite file of the sync store (ledger, cursors, run log)",
        default=str(_data_home() / "erpsync" / "erpsync.db"),
    ),
    Setting(
        "progress_after",
        "ERPSYNC_PROGRESS_AFTER",
        "seconds a long command runs before it shows progress (0: at once)",
        default="2",
    ),
    Setting(
        "sandbox_url",
        "ERPSYNC_SANDBOX_URL",
        "base URL of a running `erpsync sandbox` to use instead of the real ERP",
    ),
    Setting("quickbooks.client_id", "ERPSYNC_QBO_CLIENT_ID", "app client id (developer portal)"),
    Setting(
        "quickbooks.client_secret",
        "ERPSYNC_QBO_CLIENT_SECRET",
        "app client secret (developer portal)",
        secret=True,
    ),
    Setting("quickbooks.realm_id", "ERPSYNC_QBO_REALM_ID", "company id (realmId)"),
    Setting(
        "quickbooks.environment",
        "ERPSYNC_QBO_ENVIRONMENT",
        "production or sandbox (Intuit's own sandbox companies)",
        default="production",
    ),
    Setting(
        "quickbooks.token_store",
        "ERPSYNC_QBO_TOKEN_STORE",
        "JSON file holding the OAuth tokens (written 0600)",
        default=str(_config_home() / "erpsync" / "qbo-tokens.json"),
    ),
    Setting(
        "quickbooks.redirect_port",
        "ERPSYNC_QBO_REDIRECT_PORT",
        "port of the local redirect listener of `erpsync connect quickbooks`",
        default="8000",
    ),
    Setting("netsuite.account_id", "ERPSYNC_NS_ACCOUNT_ID", "account id, e.g. 1234567_SB1"),
    Setting("netsuite.auth", "ERPSYNC_NS_AUTH", "tba, m2m or auto", default="auto"),
    Setting("netsuite.consumer_key", "ERPSYNC_NS_CONSUMER_KEY", "TBA consumer key", secret=True),
    Setting(
        "netsuite.consumer_secret", "ERPSYNC_NS_CONSUMER_SECRET", "TBA consumer secret", secret=True
    ),
    Setting("netsuite.token_id", "ERPSYNC_NS_TOKEN_ID", "TBA token id", secret=True),
    Setting("netsuite.token_secret", "ERPSYNC_NS_TOKEN_SECRET", "TBA token secret", secret=True),
    Setting(
        "netsuite.client_id",
        "ERPSYNC_NS_CLIENT_ID",
        "M2M client id (the integration's consumer key)",
        secret=True,
    ),
    Setting(
        "netsuite.certificate_id",
        "ERPSYNC_NS_CERTIFICATE_ID",
        "M2M certificate id (OAuth 2.0 client credentials setup page)",
    ),
    Setting(
        "netsuite.private_key",
        "ERPSYNC_NS_PRIVATE_KEY",
        "M2M private key: a path to a PEM file, or the PEM text",
        secret=True,
    ),
    Setting(
        "netsuite.algorithm",
        "ERPSYNC_NS_ALGORITHM",
        "M2M JWT algorithm (PS256...ES512); default: chosen from the key",
    ),
    Setting(
        "netsuite.pdf_restlet",
        "ERPSYNC_NS_PDF_RESTLET",
        "`script,deploy` ids of a RESTlet rendering invoice PDFs (NetSuite has no REST PDF)",
    ),
)

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the file is looked for when ``--config`` is not given."""
    env = os.environ if env is None else env
    explicit = env.get("ERPSYNC_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME")
    home = Path(base) if base else Path("~/.config")
    return (home / "erpsync" / "config.toml").expanduser()


class Config:
    """Resolved settings with the source of each; secrets are never in its ``repr``."""

    def __init__(
        self,
        values: Mapping[str, tuple[str, Source]],
        *,
        path: Path | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        unknown = set(values) - set(_BY_NAME)
        if unknown:
            raise ConfigurationError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        self._values = dict(values)
        #: The file that was read, if any.
        self.path = path
        #: Things worth telling the user (a world-readable file holding secrets).
        self.warnings = warnings

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        setting = _setting(name)
        found = self._values.get(setting.name)
        return found[0] if found is not None else None

    def source(self, name: str) -> Source | None:
        found = self._values.get(_setting(name).name)
        return found[1] if found is not None else None

    def require(self, name: str, purpose: str) -> str:
        """The value, or a ConfigurationError telling exactly where to set it."""
        value = self.get(name)
        if value:
            return value
        setting = _setting(name)
        where = f"[{setting.section}] {setting.key}" if setting.section else setting.key
        raise ConfigurationError(
            f"{purpose} needs {setting.name}: set {setting.env} or `{where} = ...` in "
            f"{self.path or default_config_path()}"
        )

    def require_all(self, purpose: str, *names: str) -> list[str]:
        """Every value, or one ConfigurationError naming every missing variable."""
        missing = self.missing(*names)
        if missing:
            raise ConfigurationError(
                f"{purpose} needs {', '.join(missing)} (environment variables, or the "
                f"matching keys in {self.path or default_config_path()}; see "
                "`erpsync config show`)"
            )
        return [self.get(name) or "" for name in names]

    def missing(self, *names: str) -> list[str]:
        """The environment names of the settings among ``names`` that are not set."""
        return [_setting(n).env for n in names if not self.get(n)]

    def has_any(self, section: str) -> bool:
        """Whether anything in ``[section]`` was set by a flag, the environment or the file."""
        return any(
            name.startswith(section + ".") and source != "default"
            for name, (_, source) in self._values.items()
        )

    # -- showing ---------------------------------------------------------------------------

    def display(self, name: str) -> str:
        """The value as it may be shown to a person: secrets masked, unset as ``-``."""
        setting = _setting(name)
        value = self.get(name)
        if value is None or value == "":
            return "-"
        if setting.name == "netsuite.private_key" and "-----BEGIN" not in value:
            return value  # a path: not secret, and useful to see
        if setting.secret:
            return f"{_MASK} (set)"
        return value

    def rows(self) -> Iterator[tuple[str, str, str, str]]:
        """``(setting, shown value, source, environment variable)`` for every setting."""
        for setting in SETTINGS:
            yield (
                setting.name,
                self.display(setting.name),
                self.source(setting.name) or "-",
                (setting.env),
            )

    def secret_values(self) -> tuple[str, ...]:
        """Raw secret values, for redacting messages; never print these."""
        return tuple(
            value for name, (value, _) in self._values.items() if _BY_NAME[name].secret and value
        )

    def with_overrides(self, overrides: Mapping[str, str | None]) -> Config:
        """A copy with flag values on top (``None`` means the flag was not given)."""
        values = dict(self._values)
        for name, value in overrides.items():
            if value is not None:
                values[_setting(name).name] = (str(value), "flag")
        return Config(values, path=self.path, warnings=self.warnings)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.display(name)!r}" for name in sorted(self._values))
        return f"Config({shown})"


def _setting(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigurationError(f"unknown setting {name!r}") from None


def _read_file(path: Path, *, explicit: bool) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigurationError(f"the configuration file {path} does not exist") from None
        return {}
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the configuration file {path}: {exc.strerror or exc}"
        ) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None


def _flatten(data: Mapping[str, Any], path: Path) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                flat[f"{key}.{sub}"] = _scalar(f"{key}.{sub}", subvalue, path)
        else:
            flat[key] = _scalar(key, value, path)
    unknown = sorted(set(flat) - set(_BY_NAME))
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known settings are "
            f"{', '.join(s.name for s in SETTINGS)}"
        )
    return flat


def _scalar(name: str, value: Any, path: Path) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigurationError(f"{path}: {name} must be a string or a number")
    return str(value)


def _permission_warning(path: Path, flat: Mapping[str, str]) -> str | None:
    if not any(_BY_NAME[name].secret for name in flat):
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"{path} holds secrets and is readable by other users: chmod 600 {path}"
    return None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
) -> Config:
    """Resolve every setting: flags (``overrides``) > ``env`` > the file > defaults."""
    env = os.environ if env is None else env
    explicit = path is not None or bool(env.get("ERPSYNC_CONFIG"))
    file_path = Path(path).expanduser() if path is not None else default_config_path(env)
    data = _read_file(file_path, explicit=explicit)
    flat = _flatten(data, file_path)
    values: dict[str, tuple[str, Source]] = {}
    for setting in SETTINGS:
        if setting.default is not None:
            values[setting.name] = (setting.default, "default")
        if setting.name in flat:
            values[setting.name] = (flat[setting.name], "file")
        from_env = env.get(setting.env)
        if from_env:
            values[setting.name] = (from_env, "env")
    warning = _permission_warning(file_path, flat) if flat else None
    config = Config(
        values,
        path=file_path if data else None,
        warnings=(warning,) if warning else (),
    )
    return config.with_overrides(overrides or {})
