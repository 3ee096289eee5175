"""What the Accounts dialog edits, without Qt: the fields, the drafts, their checks, the tests.

Each account is a :class:`Draft` of strings as typed; :func:`config_data` turns drafts into
the configuration-file tables and :func:`check` hands them to
:func:`invoicedesk.config.parse_config`, so the dialog's rules and sentences are exactly the
file's. Secrets typed but not saved live in the draft and reach a connection test through
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


def config_data(drafts: list[Draft], *, auto_sync_minutes: int = 0) -> dict[str, Any]:
    """The drafts as the tables of a configuration file, as a hand-written file would have them."""
    data: dict[str, Any] = {}
    for kind in (JS, MP):
        tables = [d.table() for d in drafts if d.kind == kind]
        if tables:
            data[kind] = tables
    if auto_sync_minutes:
        data["auto_sync_minutes"] = auto_sync_minutes
    return data


def check(data: Mapping[str, Any]) -> tuple[Config | None, str]:
    """``parse_config`` of ``data``: the configuration, or ``None`` and the file's own sentence."""
    try:
        return parse_config(data), ""
    except ConfigError as exc:
        return None, str(exc)
