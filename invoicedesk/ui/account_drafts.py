"""What the Accounts dialog edits, without Qt: the fields, the drafts, their checks, the tests.

Each account is a :class:`Draft` of strings as typed (the team database a :class:`TeamDraft`);
:func:`config_data` turns drafts into the configuration-file tables and :func:`check` hands
them to :func:`invoicedesk.config.parse_config`, so the dialog's rules and sentences are
exactly the file's. Secrets typed but not saved live in the draft and reach a connection test through
:class:`OverlaySecrets`, never the secret source. Kept free of Qt so the rules can be read
(and tested) without a window.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoicedesk.config import (
    DEFAULT_JUMPSELLER_API,
    Account,
    Config,
    JumpsellerAccount,
    SecretSource,
    TeamConfig,
    parse_config,
)
from invoicedesk.errors import ConfigError
from invoicedesk.services import ConnectionState, Services

Tester = Callable[[Account, dict[str, str]], Awaitable[ConnectionState]]
"""``await tester(account, overlay)``: ``overlay`` maps secret keys (``account.token_key`` ...)
to values typed in the dialog but not saved yet; anything else comes from the secret source."""

JS = "jumpseller"
MP = "marketplacer"


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # the config key, or the secret's name
    label: str
    placeholder: str  # short, shown in the empty field
    help: str  # the tooltip
    secret_key_attr: str = ""  # for secrets: the account property naming its keyring key


_ENV_HELP = (
    "Optional. Names an environment variable that holds the secret; when it is set it wins "
    "over the keyring (useful for scripts and servers)."
)

FIELDS: dict[str, tuple[Field, ...]] = {
    JS: (
        Field("name", "Name", "e.g. main-store", "What InvoiceDesk calls this store; unique."),
        Field(
            "login",
            "Login",
            "API login (Admin → Account)",
            "The API login shown in Jumpseller Admin → Account; also the store code in signed requests.",
        ),
        Field("api_url", "API URL", DEFAULT_JUMPSELLER_API, "Jumpseller's API root; rarely changed."),
        Field(
            "invoicing_url",
            "Invoicing URL",
            "https://… (the endpoint that issues invoices)",
            "The invoicing endpoint of the Lightweight Integration; needed to create invoices.",
        ),
        Field(
            "credit_note_url",
            "Credit note URL",
            "Optional: https://… (the endpoint that issues credit notes)",
            "Where credit notes for canceled orders are asked for. Leave empty if your invoicing "
            "service does not issue credit notes; it may be the same as the invoicing URL when that "
            "service handles canceled orders.",
        ),
        Field("token", "API token", "", "The API token from Jumpseller Admin → Account.", "token_key"),
        Field(
            "hooks_token",
            "Hooks token",
            "",
            "The store's hooks token: signs the requests sent to the invoicing endpoint.",
            "hooks_token_key",
        ),
        Field("token_env", "Token variable", "Optional, e.g. SHOP_TOKEN", _ENV_HELP),
        Field("hooks_token_env", "Hooks token variable", "Optional", _ENV_HELP),
    ),
    MP: (
        Field("name", "Name", "e.g. bikeshop", "What InvoiceDesk calls this seller account; unique."),
        Field(
            "api_url",
            "Marketplace URL",
            "https://marketplace.example.com",
            "The marketplace's own address; InvoiceDesk adds /api/v2/client/….",
        ),
        Field("currency", "Currency", "e.g. AUD", "3-letter ISO code of the marketplace's prices."),
        Field("api_key", "API key", "", "The seller API key from the marketplace.", "api_key_key"),
        Field(
            "basic_user",
            "HTTP Basic user",
            "Only behind a staging password",
            "Only for marketplaces that sit behind an HTTP Basic password (staging sites).",
        ),
        Field(
            "basic_password",
            "Basic password",
            "",
            "The HTTP Basic password, only with an HTTP Basic user.",
            "basic_password_key",
        ),
        Field("api_key_env", "API key variable", "Optional, e.g. BIKESHOP_KEY", _ENV_HELP),
        Field("basic_password_env", "Password variable", "Optional", _ENV_HELP),
    ),
}

KIND_TITLES = {JS: "Jumpseller store", MP: "Marketplacer seller"}
KEY_IN_ERROR = re.compile(r"'(\w+)' (?:must|is|uses)\b")


def config_fields(kind: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS[kind] if not f.secret_key_attr)


def secret_fields(kind: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS[kind] if f.secret_key_attr)


@dataclass
class Draft:
    """One account as being edited: config fields, secrets typed (unsaved), what it was."""

    kind: str
    fields: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    original: Account | None = None

    @classmethod
    def of(cls, account: Account) -> Draft:
        kind = JS if isinstance(account, JumpsellerAccount) else MP
        values = {f.key: str(getattr(account, f.key)) for f in config_fields(kind)}
        return cls(kind, values, original=account)

    def table(self) -> dict[str, str]:
        """The draft as a config-file table: blank fields left out, as a hand-written file would."""
        return {k: v.strip() for k, v in self.fields.items() if v.strip()}


class OverlaySecrets:
    """Secrets typed but not saved first, then the real source (Test connection before Save).

    ``set`` only touches the overlay: a connection test must never persist anything.
    """

    def __init__(self, overlay: Mapping[str, str], base: SecretSource) -> None:
        self.overlay = dict(overlay)
        self.base = base

    def get(self, key: str) -> str | None:
        return self.overlay.get(key) or self.base.get(key)

    def set(self, key: str, value: str) -> None:
        self.overlay[key] = value

    def __repr__(self) -> str:
        return f"OverlaySecrets(keys={sorted(self.overlay)})"


def connection_tester(secrets: SecretSource, data_dir: Path) -> Tester:
    """The app's tester: a throw-away :class:`Services` for the one account, closed after.

    Throw-away on purpose: the unsaved credentials must not end up in the app's pooled clients.
    """

    async def test(account: Account, overlay: dict[str, str]) -> ConnectionState:
        if isinstance(account, JumpsellerAccount):
            config = Config(jumpseller=(account,))
        else:
            config = Config(marketplacer=(account,))
        services = Services(config, OverlaySecrets(overlay, secrets), data_dir)
        try:
            return await services.check_connection(account)
        finally:
            await services.aclose()

    return test


# --------------------------------------------------------------------------------- checking


def config_data(
    drafts: list[Draft], *, team: TeamDraft | None = None, auto_sync_minutes: int = 0
) -> dict[str, Any]:
    """The drafts as the tables of a configuration file, as a hand-written file would have them."""
    data: dict[str, Any] = {}
    for kind in (JS, MP):
        tables = [d.table() for d in drafts if d.kind == kind]
        if tables:
            data[kind] = tables
    if auto_sync_minutes:
        data["auto_sync_minutes"] = auto_sync_minutes
    if team is not None and team.enabled:
        data["team"] = team.table()
    return data


def check(data: Mapping[str, Any]) -> tuple[Config | None, str]:
    """``parse_config`` of ``data``: the configuration, or ``None`` and the file's own sentence."""
    try:
        return parse_config(data), ""
    except ConfigError as exc:
        return None, str(exc)


# --------------------------------------------------------------------------------- team database

TEAM_FIELDS: tuple[Field, ...] = (
    Field(
        "database_url",
        "Database address",
        "postgresql://user@server:5432/invoicedesk?sslmode=require",
        "The team database's address, as your IT people give it (database_url in the "
        "configuration file). Without the password: that goes in the field below. A database "
        "on another machine needs ?sslmode=require (or verify-ca, verify-full) at the end.",
    ),
    Field(
        "password",
        "Password",
        "",
        "The database user's password; kept in the system keyring, never in the file.",
        "password_key",
    ),
    Field(
        "password_env",
        "Password variable",
        "Optional, e.g. INVOICEDESK_DB_PASSWORD",
        _ENV_HELP,
    ),
)


@dataclass
class TeamDraft:
    """The ``[team]`` table as being edited; an empty address means team mode is off."""

    database_url: str = ""
    password_env: str = ""
    password: str = ""  # typed, not saved yet
    original: TeamConfig | None = None

    @classmethod
    def of(cls, team: TeamConfig | None) -> TeamDraft:
        if team is None:
            return cls()
        return cls(team.database_url, team.password_env, original=team)

    @property
    def enabled(self) -> bool:
        return bool(self.database_url.strip())

    def table(self) -> dict[str, str]:
        table = {"database_url": self.database_url.strip()}
        if self.password_env.strip():
            table["password_env"] = self.password_env.strip()
        return table

    def check(self) -> tuple[TeamConfig | None, str]:
        """The ``[team]`` this draft makes (``None`` when off), or the file's sentence."""
        if not self.enabled:
            return None, ""
        config, error = check({"team": self.table()})
        return (config.team if config is not None else None), error


TeamTester = Callable[[TeamConfig, dict[str, str]], Awaitable[str]]
"""``await tester(team, overlay)``: the sentence to show; raises ``InvoiceDeskError`` with the
sentence when the database cannot be reached or used."""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def team_tester(secrets: SecretSource) -> TeamTester:
    """The app's team test: connect as a throw-away desk, read the status, close.

    Connecting creates or upgrades the schema (as any desk would) and registers this test for a
    moment; the desks counted are the others seen in the last ten minutes.
    """

    async def test(team: TeamConfig, overlay: dict[str, str]) -> str:
        from invoicedesk.team.db import TeamDB, TeamUnavailableError

        db = TeamDB(team, OverlaySecrets(overlay, secrets), kind="connection test")
        try:
            await db.connect()
            status = await db.status()
        except TeamUnavailableError as exc:
            # The sentence's second half ("Nothing was claimed or sent; review works from this
            # desk's copy.") is about an action refused; a test claims nothing.
            raise TeamUnavailableError(str(exc).split(" Nothing was claimed", 1)[0]) from None
        finally:
            await db.aclose()
        others = [d for d in status.desks if d[0] != db.desk]
        return (
            f"Connected: schema version {status.schema_version}, "
            f"{_plural(len(others), 'desk')} seen in the last 10 minutes."
        )

    return test
