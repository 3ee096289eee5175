"""The composition root: one place that opens and closes everything that talks to the network.

Each account gets one ``httpx.AsyncClient`` for the life of the app, created inside the running
event loop (qasync in the GUI, plain asyncio on the command line) and closed on quit, so
connections are pooled and nothing is left pending at exit. The GUI and the command line get
their clients from here instead of building their own. Each account's pacer shares its rate
budget with every other InvoiceDesk process on the same data folder (``SharedBudget``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from invoicedesk.config import (
    Config,
    JumpsellerAccount,
    MarketplacerAccount,
    SecretSource,
    resolve_secret,
)
from invoicedesk.errors import ConfigError, InvoiceDeskError

if TYPE_CHECKING:
    # The clients, the transport and httpx load with the first client, not at start-up: the
    # window paints its list before it talks to any service.
    import httpx

    from invoicedesk.clients.invoicing import InvoicingClient
    from invoicedesk.clients.jumpseller import JumpsellerClient
    from invoicedesk.clients.marketplacer import MarketplacerClient


@dataclass(frozen=True, slots=True)
class ConnectionState:
    account: str
    source: str
    ok: bool
    message: str


class Services:
    """Clients per account, built lazily from the configuration and the secret source."""

    def __init__(
        self, config: Config, secrets: SecretSource, data_dir: Path, *, timeout: httpx.Timeout | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.secrets = secrets
        self.data_dir = data_dir
        self._http: dict[str, httpx.AsyncClient] = {}
        self._jumpseller: dict[str, JumpsellerClient] = {}
        self._invoicing: dict[str, InvoicingClient] = {}
        self._marketplacer: dict[str, MarketplacerClient] = {}
        self._closed = False
        self._requests: dict[str, int] = {}

    # ---------------------------------------------------------------- clients

    def _http_for(self, key: str, base_url: str) -> httpx.AsyncClient:
        if self._closed:
            raise InvoiceDeskError("InvoiceDesk is shutting down.")
        client = self._http.get(key)
        if client is None:
            from invoicedesk.transport import make_http_client

            client = make_http_client(base_url=base_url, timeout=self.timeout)
            account = key.split(":", 1)[1]

            async def count(_request: httpx.Request) -> None:
                self._requests[account] = self._requests.get(account, 0) + 1

            client.event_hooks["request"].append(count)
            self._http[key] = client
        return client

    def request_count(self, account: str) -> int:
        """Requests sent for an account so far (sync reports and benchmarks use it)."""
        return self._requests.get(account, 0)

    def jumpseller(self, account: JumpsellerAccount | str) -> JumpsellerClient:
        acc = self._js_account(account)
        client = self._jumpseller.get(acc.name)
        if client is None:
            from invoicedesk.clients.jumpseller import JumpsellerClient
            from invoicedesk.transport import RatePacer, SharedBudget

            token = resolve_secret(
                acc.token_env, acc.token_key, self.secrets, what="API token", account=acc.name
            )
            assert token is not None
            client = JumpsellerClient(
                self._http_for(f"js:{acc.name}", acc.api_url),
                account=acc.name,
                login=acc.login,
                token=token,
                base_url=acc.api_url,
                pacer=RatePacer.jumpseller(SharedBudget.for_account(self.data_dir, "jumpseller", acc.name)),
            )
            self._jumpseller[acc.name] = client
        return client

    def invoicing(self, account: JumpsellerAccount | str) -> InvoicingClient:
        acc = self._js_account(account)
        if not acc.invoicing_url:
            raise ConfigError(f"Account '{acc.name}' has no invoicing_url: set it in the Accounts dialog.")
        client = self._invoicing.get(acc.name)
        if client is None:
            from invoicedesk.clients.invoicing import InvoicingClient

            hooks = resolve_secret(
                acc.hooks_token_env,
                acc.hooks_token_key,
                self.secrets,
                what="hooks token",
                account=acc.name,
                required=False,
            )
            client = InvoicingClient(
                self._http_for(f"inv:{acc.name}", acc.invoicing_url),
                account=acc.name,
                endpoint_url=acc.invoicing_url,
                credit_note_url=acc.credit_note_url,
                store_code=acc.login,
                hooks_token=hooks,
            )
            self._invoicing[acc.name] = client
        return client

    def marketplacer(self, account: MarketplacerAccount | str) -> MarketplacerClient:
        acc = self._mp_account(account)
        client = self._marketplacer.get(acc.name)
        if client is None:
            from invoicedesk.clients.marketplacer import MarketplacerClient
            from invoicedesk.transport import RatePacer, SharedBudget

            key = resolve_secret(
                acc.api_key_env, acc.api_key_key, self.secrets, what="API key", account=acc.name
            )
            assert key is not None
            basic: tuple[str, str] | None = None
            if acc.basic_user:
                pw = resolve_secret(
                    acc.basic_password_env,
                    acc.basic_password_key,
                    self.secrets,
                    what="HTTP Basic password",
                    account=acc.name,
                )
                assert pw is not None
                basic = (acc.basic_user, pw)
            client = MarketplacerClient(
                self._http_for(f"mp:{acc.name}", acc.api_url),
                account=acc.name,
                api_key=key,
                base_url=acc.api_url,
                currency=acc.currency,
                basic_auth=basic,
                pacer=RatePacer.marketplacer(
                    SharedBudget.for_account(self.data_dir, "marketplacer", acc.name)
                ),
            )
            self._marketplacer[acc.name] = client
        return client

    def _js_account(self, account: JumpsellerAccount | str) -> JumpsellerAccount:
        acc = self.config.account(account) if isinstance(account, str) else account
        if not isinstance(acc, JumpsellerAccount):
            raise ConfigError(f"Account '{acc.name}' is not a Jumpseller store.")
        return acc

    def _mp_account(self, account: MarketplacerAccount | str) -> MarketplacerAccount:
        acc = self.config.account(account) if isinstance(account, str) else account
        if not isinstance(acc, MarketplacerAccount):
            raise ConfigError(f"Account '{acc.name}' is not a Marketplacer seller.")
        return acc

    # ---------------------------------------------------------------- checks

    async def check_connection(self, account: JumpsellerAccount | MarketplacerAccount) -> ConnectionState:
        """One cheap authenticated request; the answer is a sentence staff can act on."""
        try:
            if isinstance(account, JumpsellerAccount):
                count = await self.jumpseller(account).count_orders()
                msg = f"Connected: {count} orders in the store."
            else:
                client = self.marketplacer(account)
                async for _page in client.iter_invoice_pages(page_size=1, include=()):
                    break
                msg = "Connected."
        except InvoiceDeskError as exc:
            return ConnectionState(account.name, account.source, False, str(exc))
        return ConnectionState(account.name, account.source, True, msg)

    async def check_all(self) -> list[ConnectionState]:
        return list(await asyncio.gather(*(self.check_connection(a) for a in self.config.accounts)))

    # ---------------------------------------------------------------- life cycle

    async def aclose(self) -> None:
        """Close every pooled connection; safe to call twice."""
        self._closed = True
        clients, self._http = list(self._http.values()), {}
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
