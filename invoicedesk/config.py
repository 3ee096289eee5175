"""Accounts and configuration: which Jumpseller stores and Marketplacer sellers to work with.

The configuration is a TOML file (format in the README). It never holds a secret: tokens come
from the environment variable an account names (for headless use) or from the OS keyring.
A bad file gets one clear sentence naming the file, the key and what is wrong.

The file read is ``--config PATH``, else :func:`invoicedesk.paths.default_config_path` (where
every folder InvoiceDesk uses is decided). Web addresses are checked by the one rule in
:mod:`invoicedesk.urls`, and every secret resolved is registered with :mod:`invoicedesk.redact`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from invoicedesk import APP_NAME
from invoicedesk.errors import ConfigError
from invoicedesk.paths import default_config_path
from invoicedesk.redact import register_secret
from invoicedesk.urls import URLProblem, is_loopback, url_refusal

DEFAULT_JUMPSELLER_API = "https://api.jumpseller.com/v1"
KEYRING_SERVICE = APP_NAME

# A hand-written configuration is a few kB; a bigger file is a mistake, not a config.
MAX_CONFIG_BYTES = 1_000_000
MAX_NAME_CHARS = 100
MAX_AUTO_SYNC_MINUTES = 7 * 24 * 60
DEFAULT_AUTO_SYNC_MINUTES = 5  # the window syncs by itself this often unless told otherwise
# Control characters (C0, DEL, C1), line separators and bidi controls: never in a name, a login
# or a URL. A NUL cuts the string short in C code (keyring, SQLite), a CR/LF splits log lines.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class JumpsellerAccount:
    """A Jumpseller store: API login (also the store code in signed requests) and its endpoints."""

    name: str
    login: str
    api_url: str = DEFAULT_JUMPSELLER_API
    invoicing_url: str = ""
    token_env: str = ""
    hooks_token_env: str = ""
    # Where credit notes are asked for. The Lightweight contract only creates invoices: an
    # endpoint that ignores the order's status would answer a canceled order with a second
    # invoice, so credit notes go only where this says they are handled (it may equal
    # ``invoicing_url`` when that service handles canceled orders).
    credit_note_url: str = ""

    @property
    def source(self) -> str:
        return "jumpseller"

    @property
    def token_key(self) -> str:
        return f"jumpseller:{self.name}:token"

    @property
    def hooks_token_key(self) -> str:
        return f"jumpseller:{self.name}:hooks_token"


@dataclass(frozen=True, slots=True)
class MarketplacerAccount:
    """A seller on one Marketplacer marketplace (each marketplace has its own host)."""

    name: str
    api_url: str
    api_key_env: str = ""
    currency: str = "AUD"
    basic_user: str = ""
    basic_password_env: str = ""

    @property
    def source(self) -> str:
        return "marketplacer"

    @property
    def api_key_key(self) -> str:
        return f"marketplacer:{self.name}:api_key"

    @property
    def basic_password_key(self) -> str:
        return f"marketplacer:{self.name}:basic_password"


Account = JumpsellerAccount | MarketplacerAccount


@dataclass(frozen=True, slots=True)
class TeamConfig:
    """Team mode: claims, history and a shared copy of the records in a PostgreSQL database.

    ``database_url`` never holds the password: it comes from the environment variable named
    by ``password_env``, else from the OS keyring (``password_key``).
    """

    database_url: str
    password_env: str = ""

    @property
    def password_key(self) -> str:
        return "team:database_password"

    @property
    def where(self) -> str:
        """Host, port and database, for messages (never the user or a password)."""
        parts = urlsplit(self.database_url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.hostname}{port}{parts.path}"


@dataclass(frozen=True, slots=True)
class Config:
    jumpseller: tuple[JumpsellerAccount, ...] = ()
    marketplacer: tuple[MarketplacerAccount, ...] = ()
    auto_sync_minutes: int = DEFAULT_AUTO_SYNC_MINUTES
    path: Path | None = None
    team: TeamConfig | None = None

    @property
    def accounts(self) -> tuple[Account, ...]:
        return (*self.jumpseller, *self.marketplacer)

    def account(self, name: str) -> Account:
        for acc in self.accounts:
            if acc.name == name:
                return acc
        known = ", ".join(a.name for a in self.accounts) or "none configured"
        raise ConfigError(f"No account named '{name}' (accounts: {known}).")


# --------------------------------------------------------------------------------------------
# Loading and validation


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config file; a missing default file is an empty configuration."""
    explicit = path is not None or "INVOICEDESK_CONFIG" in os.environ
    cfg_path = path if path is not None else default_config_path()
    try:
        exists = cfg_path.exists()
    except OSError as exc:  # a name too long for the file system, a loop of symlinks
        raise ConfigError(f"{cfg_path}: cannot be read ({exc.__class__.__name__}).") from None
    if not exists:
        if explicit:
            raise ConfigError(f"{cfg_path}: no such configuration file.")
        return Config(path=cfg_path)
    try:
        with cfg_path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            limit = f"{MAX_CONFIG_BYTES // 1000} kB"
            raise ConfigError(f"{cfg_path}: too large for a configuration file (over {limit}).")
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg_path}: not valid TOML ({exc}).") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{cfg_path}: not valid TOML (values nested too deeply).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{cfg_path}: cannot be read ({exc.__class__.__name__}).") from None
    return parse_config(data, path=cfg_path)


def parse_config(data: Mapping[str, Any], *, path: Path | None = None) -> Config:
    where = str(path) if path else "configuration"
    known_top = {"jumpseller", "marketplacer", "auto_sync_minutes", "team"}
    for key in data:
        if key not in known_top:
            raise ConfigError(f"{where}: unknown key '{key}' (expected {', '.join(sorted(known_top))}).")

    js = tuple(_jumpseller(entry, where, i) for i, entry in enumerate(_tables(data, "jumpseller", where)))
    mp = tuple(_marketplacer(entry, where, i) for i, entry in enumerate(_tables(data, "marketplacer", where)))
    names = [a.name for a in js] + [a.name for a in mp]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{where}: account name '{dupes[0]}' is used more than once.")
    auto = data.get("auto_sync_minutes", DEFAULT_AUTO_SYNC_MINUTES)
    if not isinstance(auto, int) or isinstance(auto, bool) or not 0 <= auto <= MAX_AUTO_SYNC_MINUTES:
        raise ConfigError(
            f"{where}: 'auto_sync_minutes' must be a whole number of minutes from 0 (off) "
            f"to {MAX_AUTO_SYNC_MINUTES} (a week)."
        )
    team = _team(data["team"], where) if "team" in data else None
    return Config(jumpseller=js, marketplacer=mp, auto_sync_minutes=auto, path=path, team=team)


_SSL_MODES_WITH_TLS = ("require", "verify-ca", "verify-full")


def _team(entry: Any, where: str) -> TeamConfig:
    """``[team]``: a postgresql:// URL without a password, TLS unless the server is this machine."""
    at = f"{where} [team]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{at}: must be a table ([team]).")
    _no_secrets(entry, at)
    for key in entry:
        if key not in ("database_url", "password_env"):
            raise ConfigError(f"{at}: unknown key '{key}' (expected database_url, password_env).")
    url = _str(entry, "database_url", at, required=True)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigError(f"{at}: 'database_url' is not a valid URL.") from None
    if parts.scheme not in ("postgresql", "postgres") or not host or not parts.path.strip("/"):
        raise ConfigError(
            f"{at}: 'database_url' must look like postgresql://user@host:5432/database."
        )
    if parts.password is not None:
        raise ConfigError(
            f"{at}: 'database_url' must not hold the password; name an environment variable with "
            "'password_env' or keep it in the OS keyring."
        )
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"{at}: the port in 'database_url' must be between 1 and 65535.")
    query = dict(q.split("=", 1) for q in parts.query.split("&") if "=" in q)
    if not is_loopback(host) and query.get("sslmode") not in _SSL_MODES_WITH_TLS:
        raise ConfigError(
            f"{at}: the team database is reached over TLS: add '?sslmode=require' (or verify-ca, "
            "verify-full) to 'database_url'; only a database on this machine may go without it."
        )
    return TeamConfig(database_url=url, password_env=_env_name(entry, "password_env", at))


def _tables(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of tables ([[{key}]]).")
    return value


def _str(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string, not {type(value).__name__}.")
    if _CONTROL.search(value):
        raise ConfigError(f"{where}: '{key}' must not contain control characters.")
    if required and not value.strip():
        raise ConfigError(f"{where}: '{key}' is required.")
    return value.strip()


def _name(entry: Mapping[str, Any], where: str) -> str:
    name = _str(entry, "name", where, required=True)
    if len(name) > MAX_NAME_CHARS:
        raise ConfigError(f"{where}: 'name' must be at most {MAX_NAME_CHARS} characters.")
    return name


_URL_SENTENCES = {
    URLProblem.SPACES: "must not contain spaces, got '{value}'",
    URLProblem.NOT_WEB: "must be an http(s) URL, got '{value}'",
    URLProblem.PORT_ZERO: "has port 0; a port is 1 to 65535",
    URLProblem.CREDENTIALS: "must not carry credentials or a query string",
    URLProblem.QUERY: "must not carry credentials or a query string",
    URLProblem.PLAIN_HTTP: "uses plain http; only https is allowed off this machine",
}


def _url(value: str, key: str, where: str) -> str:
    refusal = url_refusal(value)
    if refusal is None:
        return value.rstrip("/")
    if refusal.problem is URLProblem.INVALID:
        raise ConfigError(f"{where}: '{key}' is not a valid URL ({refusal.detail}).")
    raise ConfigError(f"{where}: '{key}' {_URL_SENTENCES[refusal.problem].format(value=value)}.")


def _env_name(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(entry, key, where)
    if value and not _ENV_NAME.fullmatch(value):
        raise ConfigError(f"{where}: '{key}' must name an environment variable, got '{value}'.")
    return value


_SECRET_KEYS = {"token", "authtoken", "api_key", "hooks_token", "password", "basic_password"}


def _no_secrets(entry: Mapping[str, Any], where: str) -> None:
    for key in entry:
        if key in _SECRET_KEYS:
            raise ConfigError(
                f"{where}: '{key}' must not be in the configuration file; "
                "keep secrets in the OS keyring or name an environment variable with '*_env'."
            )


def _jumpseller(entry: Mapping[str, Any], where: str, index: int) -> JumpsellerAccount:
    at = f"{where} [[jumpseller]] #{index + 1}"
    _no_secrets(entry, at)
    known = {"name", "login", "api_url", "invoicing_url", "credit_note_url", "token_env", "hooks_token_env"}
    for key in entry:
        if key not in known:
            raise ConfigError(f"{at}: unknown key '{key}'.")
    name = _name(entry, at)
    at = f"{where} [[jumpseller]] '{name}'"
    api_url = _str(entry, "api_url", at) or DEFAULT_JUMPSELLER_API
    invoicing = _str(entry, "invoicing_url", at)
    credit = _str(entry, "credit_note_url", at)
    return JumpsellerAccount(
        name=name,
        login=_str(entry, "login", at, required=True),
        api_url=_url(api_url, "api_url", at),
        invoicing_url=_url(invoicing, "invoicing_url", at) if invoicing else "",
        credit_note_url=_url(credit, "credit_note_url", at) if credit else "",
        token_env=_env_name(entry, "token_env", at),
        hooks_token_env=_env_name(entry, "hooks_token_env", at),
    )


def _marketplacer(entry: Mapping[str, Any], where: str, index: int) -> MarketplacerAccount:
    at = f"{where} [[marketplacer]] #{index + 1}"
    _no_secrets(entry, at)
    known = {"name", "api_url", "api_key_env", "currency", "basic_user", "basic_password_env"}
    for key in entry:
        if key not in known:
            raise ConfigError(f"{at}: unknown key '{key}'.")
    name = _name(entry, at)
    at = f"{where} [[marketplacer]] '{name}'"
    currency = _str(entry, "currency", at) or "AUD"
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise ConfigError(f"{at}: 'currency' must be a 3-letter ISO 4217 code, got '{currency}'.")
    return MarketplacerAccount(
        name=name,
        api_url=_url(_str(entry, "api_url", at, required=True), "api_url", at),
        api_key_env=_env_name(entry, "api_key_env", at),
        currency=currency.upper(),
        basic_user=_str(entry, "basic_user", at),
        basic_password_env=_env_name(entry, "basic_password_env", at),
    )


def dump_config(config: Config) -> str:
    """The TOML text of a configuration (used by the accounts dialog); never contains secrets."""
    lines: list[str] = []
    if config.auto_sync_minutes != DEFAULT_AUTO_SYNC_MINUTES:  # 0 (off) is written too
        lines += [f"auto_sync_minutes = {config.auto_sync_minutes}", ""]
    if config.team is not None:
        lines += ["[team]", f"database_url = {_q(config.team.database_url)}"]
        if config.team.password_env:
            lines.append(f"password_env = {_q(config.team.password_env)}")
        lines.append("")
    for js in config.jumpseller:
        lines.append("[[jumpseller]]")
        lines.append(f"name = {_q(js.name)}")
        lines.append(f"login = {_q(js.login)}")
        lines.append(f"api_url = {_q(js.api_url)}")
        for key in ("invoicing_url", "credit_note_url", "token_env", "hooks_token_env"):
            value = getattr(js, key)
            if value:
                lines.append(f"{key} = {_q(value)}")
        lines.append("")
    for mp in config.marketplacer:
        lines.append("[[marketplacer]]")
        lines.append(f"name = {_q(mp.name)}")
        lines.append(f"api_url = {_q(mp.api_url)}")
        lines.append(f"currency = {_q(mp.currency)}")
        for key in ("api_key_env", "basic_user", "basic_password_env"):
            value = getattr(mp, key)
            if value:
                lines.append(f"{key} = {_q(value)}")
        lines.append("")
    return "\n".join(lines)


def _q(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def save_config(config: Config, path: Path) -> None:
    """Write atomically so a crash never leaves half a configuration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(dump_config(config), encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Secrets


class SecretSource(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...


_NO_KEYRING = (
    "This computer has no keyring to keep the secret in. Save it in an environment variable "
    "instead (the Advanced part of the account) and start InvoiceDesk with it set."
)


class KeyringSecrets:
    """The OS keyring (Secret Service, macOS Keychain, Windows Credential Locker)."""

    def get(self, key: str) -> str | None:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, key)
        except KeyringError:
            return None

    def set(self, key: str, value: str) -> None:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError

        try:
            keyring.set_password(KEYRING_SERVICE, key, value)
        except NoKeyringError:
            raise ConfigError(_NO_KEYRING) from None
        except KeyringError as exc:
            raise ConfigError(
                f"The system keyring refused to keep the secret ({exc.__class__.__name__}): it may "
                "be locked. Unlock it and save again, or use an environment variable instead."
            ) from None

    def delete(self, key: str) -> None:
        """Forget ``key``; nothing stored under it is not an error (it is already gone)."""
        import keyring
        from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

        try:
            keyring.delete_password(KEYRING_SERVICE, key)
        except (PasswordDeleteError, NoKeyringError):
            return  # nothing stored, or no keyring that could hold it
        except KeyringError as exc:
            raise ConfigError(
                f"The system keyring refused to delete a secret ({exc.__class__.__name__}): it may "
                "be locked. Unlock it and save again."
            ) from None


@dataclass
class StaticSecrets:
    """Secrets held in memory: the demo's sandbox credentials, and tests."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def resolve_secret(
    env_name: str, key: str, secrets: SecretSource, *, what: str, account: str, required: bool = True
) -> str | None:
    """The env var named by the account wins (headless use); else the keyring entry.

    Every secret resolved is registered with the log redactor, so it can never reach a log file.
    """
    if env_name:
        value = os.environ.get(env_name)
        if value:
            register_secret(value)
            return value
    value = secrets.get(key)
    if value:
        register_secret(value)
        return value
    if not required:
        return None
    hint = f"set ${env_name} or " if env_name else ""
    raise ConfigError(f"No {what} for account '{account}': {hint}store it with the Accounts dialog.")
