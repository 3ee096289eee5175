"""The built-in demo: the sandbox in-process, its accounts, and a throw-away data folder.

``invoicedesk --demo`` uses this so anybody can try InvoiceDesk with no store, no marketplace
and no invoicing service of their own. Nothing it writes outlives the run.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from invoicedesk.config import Config, JumpsellerAccount, MarketplacerAccount, StaticSecrets


@dataclass
class DemoEnvironment:
    sandbox: object
    config: Config
    secrets: StaticSecrets
    data_dir: Path
    _owns_dir: bool = True

    def close(self) -> None:
        stop = getattr(self.sandbox, "stop", None)
        if callable(stop):
            stop()
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def demo_config(sandbox: object) -> tuple[Config, StaticSecrets]:
    """Accounts and in-memory secrets for every store and seller the sandbox serves."""
    secrets = StaticSecrets()
    stores = []
    for store in sandbox.stores:  # type: ignore[attr-defined]
        acc = JumpsellerAccount(
            name=store.login,
            login=store.login,
            api_url=sandbox.jumpseller_url,  # type: ignore[attr-defined]
            invoicing_url=sandbox.invoicing_url,  # type: ignore[attr-defined]
            credit_note_url=sandbox.credit_note_url,  # type: ignore[attr-defined]
        )
        secrets.set(acc.token_key, store.token)
        if store.hooks_token:
            secrets.set(acc.hooks_token_key, store.hooks_token)
        stores.append(acc)
    sellers = []
    for seller in sandbox.sellers:  # type: ignore[attr-defined]
        macc = MarketplacerAccount(
            name=seller.name,
            api_url=sandbox.marketplacer_url,  # type: ignore[attr-defined]
            currency=seller.currency,
        )
        secrets.set(macc.api_key_key, seller.api_key)
        sellers.append(macc)
    return Config(jumpseller=tuple(stores), marketplacer=tuple(sellers)), secrets


def start_demo(
    *, seed: int = 7, orders: int = 300, invoices: int = 300, data_dir: Path | None = None
) -> DemoEnvironment:
    from invoicedesk.sandbox import Sandbox

    sandbox = Sandbox(seed=seed, orders=orders, invoices=invoices)
    sandbox.start()
    config, secrets = demo_config(sandbox)
    owns = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="invoicedesk-demo-")) if data_dir is None else data_dir
    return DemoEnvironment(sandbox, config, secrets, folder, owns)
