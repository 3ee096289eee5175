"""What the Accounts dialog edits, without Qt: the fields, the drafts, their checks, the tests.

Each account is a :class:`Draft` of strings as typed (the team database a :class:`TeamDraft`).
:func:`problems` says what is wrong with each field in staff words ("Give the store a name"),
by the same rules :func:`invoicedesk.config.parse_config` applies to the file, so whatever
passes here the file accepts; :func:`config_data` turns drafts into the file's tables and
:func:`check` is the last word. Secrets typed but not saved live in the draft and reach a
connection test through :class:`OverlaySecrets`, never the secret source. Kept free of Qt so the
rules can be read (and tested) without a window.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoicedesk.config import (
    DEFAULT_JUMPSELLER_API,
    MAX_NAME_CHARS,
    Account,
    Config,
    JumpsellerAccount,
    SecretSource,
    TeamConfig,
    parse_config,
)
from invoicedesk.errors import (
    AuthError,
    ConfigError,
    InsecureURLError,
    InvoiceDeskError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from invoicedesk.services import ConnectionState, Services
from invoicedesk.urls import URLProblem, url_refusal

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
    advanced: bool = False  # out of the way unless used: staging sites, headless use


_ENV_HELP = (
    "Only for running InvoiceDesk without a desktop (scripts, servers): the name of an "
    "environment variable that holds the {what}. When that variable is set, it is used "
    "instead of the keyring."
)

FIELDS: dict[str, tuple[Field, ...]] = {
    JS: (
        Field("name", "Name", "e.g. main-store", "What InvoiceDesk calls this store; unique."),
        Field(
            "login",
            "API login",
            "From Jumpseller Admin → Account",
            "The API login shown in Jumpseller Admin → Account; also the store code in signed requests.",
        ),
        Field(
            "token",
            "API token",
            "",
            "The API token from Jumpseller Admin → Account. Kept in the system keyring, never in "
            "the configuration file.",
            "token_key",
        ),
        Field(
            "api_url",
            "API address",
            DEFAULT_JUMPSELLER_API,
            "Jumpseller's API address; leave it as it is unless Jumpseller tells you otherwise.",
        ),
        Field(
            "invoicing_url",
            "Invoicing address",
            "https://… (the service that issues invoices)",
            "The address of the invoicing service (Jumpseller's Lightweight Integration); needed "
            "to create invoices.",
        ),
        Field(
            "credit_note_url",
            "Credit note address",
            "Optional: https://… (issues credit notes)",
            "Where credit notes for canceled orders are asked for. Leave empty if your invoicing "
            "service does not issue credit notes; it may be the same as the invoicing address when "
            "that service handles canceled orders.",
        ),
        Field(
            "hooks_token",
            "Hooks token",
            "",
            "The store's hooks token (Jumpseller Admin → Account): signs the requests sent to the "
            "invoicing service. Kept in the system keyring.",
            "hooks_token_key",
        ),
        Field(
            "token_env",
            "API token variable",
            "e.g. SHOP_TOKEN",
            _ENV_HELP.format(what="API token"),
            advanced=True,
        ),
        Field(
            "hooks_token_env",
            "Hooks token variable",
            "e.g. SHOP_HOOKS_TOKEN",
            _ENV_HELP.format(what="hooks token"),
            advanced=True,
        ),
    ),
    MP: (
        Field("name", "Name", "e.g. bikeshop", "What InvoiceDesk calls this seller; unique."),
        Field(
            "api_url",
            "Marketplace address",
            "https://marketplace.example.com",
            "The marketplace's own address; InvoiceDesk adds /api/v2/client/….",
        ),
        Field(
            "api_key",
            "API key",
            "",
            "The seller API key from the marketplace. Kept in the system keyring, never in the "
            "configuration file.",
            "api_key_key",
        ),
        Field("currency", "Currency", "e.g. AUD", "The 3-letter code of the marketplace's prices."),
        Field(
            "basic_user",
            "Staging site user",
            "Only for a staging site",
            "Only for a marketplace's staging site that asks for a user name and password before "
            "anything else.",
            advanced=True,
        ),
        Field(
            "basic_password",
            "Staging site password",
            "",
            "The staging site's password, with the staging site user. Kept in the system keyring.",
            "basic_password_key",
            advanced=True,
        ),
        Field(
            "api_key_env",
            "API key variable",
            "e.g. BIKESHOP_KEY",
            _ENV_HELP.format(what="API key"),
            advanced=True,
        ),
        Field(
            "basic_password_env",
            "Staging password variable",
            "e.g. BIKESHOP_STAGING_PASSWORD",
            _ENV_HELP.format(what="staging site password"),
            advanced=True,
        ),
    ),
}

KIND_TITLES = {JS: "Jumpseller store", MP: "Marketplacer seller"}
KIND_WORDS = {JS: "store", MP: "seller"}


def config_fields(kind: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS[kind] if not f.secret_key_attr)


def secret_fields(kind: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS[kind] if f.secret_key_attr)


def defaults(kind: str) -> dict[str, str]:
    """The fields of a new, empty store or seller."""
    fields = {f.key: "" for f in config_fields(kind)}
    if kind == JS:
        fields["api_url"] = DEFAULT_JUMPSELLER_API
    else:
        fields["currency"] = "AUD"
    return fields


@dataclass
class Draft:
    """One account as being edited: config fields, secrets typed (unsaved), what it was.

    ``touched`` holds the fields staff have edited: a field's problem is shown once it is
    touched (or Save was pressed), never on a form nobody has typed in yet.
    """

    kind: str
    fields: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    original: Account | None = None
    touched: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, account: Account) -> Draft:
        kind = JS if isinstance(account, JumpsellerAccount) else MP
        values = {f.key: str(getattr(account, f.key)) for f in config_fields(kind)}
        return cls(kind, values, original=account)

    @classmethod
    def new(cls, kind: str) -> Draft:
        return cls(kind, defaults(kind))

    @property
    def blank(self) -> bool:
        """A new account nobody has typed anything in: closing drops it without asking."""
        return self.original is None and not self.secrets and self.table() == {
            k: v for k, v in defaults(self.kind).items() if v
        }

    @property
    def name(self) -> str:
        return self.fields.get("name", "").strip()

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

    def delete(self, key: str) -> None:
        self.overlay.pop(key, None)

    def __repr__(self) -> str:
        return f"OverlaySecrets(keys={sorted(self.overlay)})"


def connection_sentence(error: InvoiceDeskError, account: Account) -> str:
    """What a failed connection test means, in staff words, with what to check next.

    Built from the error's type, never from its text: the words are about what staff can do,
    and no secret can reach them.
    """
    store = "store" if isinstance(account, JumpsellerAccount) else "marketplace"
    secret = "API token" if isinstance(account, JumpsellerAccount) else "API key"
    if isinstance(error, AuthError):
        what = "token" if isinstance(account, JumpsellerAccount) else "API key"
        check = "API login and token" if isinstance(account, JumpsellerAccount) else "API key"
        return f"The {store} refused the {what}. Check the {check} and test again."
    if isinstance(error, RateLimitedError):
        return f"The {store} is busy (too many requests just now). Try again in a minute."
    if isinstance(error, UnavailableError):
        if error.status is not None:
            return f"The {store} is not working properly right now (error {error.status}). Try again later."
        return (
            f"Can't reach the {store}. Check the address, and that this computer is connected "
            "to the internet."
        )
    if isinstance(error, NotFoundError | MalformedResponseError):
        return f"Something answered at that address, but not as a {store} would. Check the address."
    if isinstance(error, InsecureURLError):
        return "The address must start with https://."
    if isinstance(error, ConfigError) and str(error).startswith("No "):
        return f"Type the {secret} first (or name a variable under Advanced)."
    return plain(str(error))


async def _probe(services: Services, account: Account) -> str:
    """One cheap authenticated request, as :meth:`Services.check_connection` makes."""
    if isinstance(account, JumpsellerAccount):
        count = await services.jumpseller(account).count_orders()
        return f"Connected: {count} orders in the store."
    async for _page in services.marketplacer(account).iter_invoice_pages(page_size=1, include=()):
        break
    return "Connected: the marketplace accepted the API key."


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
            message = await _probe(services, account)
        except InvoiceDeskError as exc:
            return ConnectionState(account.name, account.source, False, connection_sentence(exc, account))
        finally:
            await services.aclose()
        return ConnectionState(account.name, account.source, True, message)

    return test


# --------------------------------------------------------------------------------- checking

# The words for each way an address can be wrong; "{what}" names the address ("The invoicing
# address"). The rule itself is :func:`invoicedesk.urls.url_refusal`, as for the file.
_URL_WORDS = {
    URLProblem.INVALID: "{what} is not a web address: check it for typing mistakes",
    URLProblem.SPACES: "{what} cannot contain spaces",
    URLProblem.NOT_WEB: "{what} must start with https://",
    URLProblem.PORT_ZERO: "{what} has port 0: use the port you were given, or none",
    URLProblem.CREDENTIALS: "{what} cannot hold a user name or password: leave them out",
    URLProblem.QUERY: "{what} cannot have a ? part: leave it out",
    URLProblem.PLAIN_HTTP: "{what} must start with https:// (http:// only works on this computer)",
}
_URL_WHAT = {
    (JS, "api_url"): "The store's API address",
    (JS, "invoicing_url"): "The invoicing address",
    (JS, "credit_note_url"): "The credit note address",
    (MP, "api_url"): "The marketplace's address",
}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _url_problem(value: str, what: str) -> str:
    refusal = url_refusal(value)
    return "" if refusal is None else _URL_WORDS[refusal.problem].format(what=what)


def problems(draft: Draft, drafts: list[Draft]) -> dict[str, str]:
    """What is wrong with each field of ``draft``, in staff words, next to the field it is about.

    The file's rules (:func:`invoicedesk.config.parse_config`), one sentence per field, about
    this account only: a name another account of ``drafts`` already has is this draft's problem.
    Secrets are never required here: a token may come from an environment variable.
    """
    found: dict[str, str] = {}
    word = KIND_WORDS[draft.kind]
    for f in config_fields(draft.kind):
        if _CONTROL.search(draft.fields.get(f.key, "").strip()):
            found[f.key] = "Remove the invisible characters (tabs, line breaks) from this field"
    name = draft.name
    if "name" not in found:
        if not name:
            found["name"] = f"Give the {word} a name"
        elif len(name) > MAX_NAME_CHARS:
            found["name"] = f"Keep the name to {MAX_NAME_CHARS} characters or fewer"
        elif any(d is not draft and d.name == name for d in drafts):
            found["name"] = f'Another account is already called "{name}": give this {word} its own name'
    value = {k: v.strip() for k, v in draft.fields.items()}
    if draft.kind == JS:
        if "login" not in found and not value.get("login"):
            found["login"] = "Type the store's API login (Jumpseller Admin → Account)"
        urls: tuple[str, ...] = ("api_url", "invoicing_url", "credit_note_url")
    else:
        if "api_url" not in found and not value.get("api_url"):
            found["api_url"] = "Type the marketplace's address (https://…)"
        currency = value.get("currency") or "AUD"
        if "currency" not in found and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            found["currency"] = "The currency is a 3-letter code, such as AUD or NZD"
        urls = ("api_url",)
    for key in urls:
        if key not in found and value.get(key):
            message = _url_problem(value[key], _URL_WHAT[(draft.kind, key)])
            if message:
                found[key] = message
    for f in config_fields(draft.kind):
        if f.key.endswith("_env") and f.key not in found and value.get(f.key):
            if not _ENV_NAME.fullmatch(value[f.key]):
                found[f.key] = "Use only letters, digits and _ (not starting with a digit)"
    return found


def plain(sentence: str) -> str:
    """A configuration-file sentence without its "where" ("configuration [[jumpseller]] #1: ")."""
    return re.sub(r"^[^:]*?(?:\[\[?\w+\]\]?(?: #\d+| '[^']*')?)?: ", "", sentence, count=1)



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

    def problem(self) -> tuple[str, str]:
        """The field that is wrong and what to do about it, in staff words; ``("", "")`` if none.

        The file's rules decide (:meth:`check`); this only says the same thing for staff.
        """
        _, error = self.check()
        if not error:
            return "", ""
        key = "password_env" if "'password_env' must" in error else "database_url"
        for phrase, words in _TEAM_WORDS:
            if phrase in error:
                return key, words
        return key, plain(error)


_TEAM_WORDS = (
    ("control characters", "Remove the invisible characters (tabs, line breaks) from this field"),
    ("must name an environment variable", "Use only letters, digits and _ (not starting with a digit)"),
    ("must not hold the password", "Leave the password out of the address: type it in the Password field"),
    ("port", "The port in the address must be a number from 1 to 65535"),
    (
        "TLS",
        "Add ?sslmode=require at the end: a database on another computer is reached over an "
        "encrypted connection",
    ),
    ("", "The address must look like postgresql://user@server:5432/database"),
)


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
