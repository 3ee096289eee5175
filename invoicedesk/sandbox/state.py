"""Everything the three services share: accounts, data, clock, limits, faults, counters.

One ``threading.RLock`` guards the data: the server thread's handlers and the test thread's
``advance``/``truth_*`` calls take it for short, synchronous stretches.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from random import Random
from typing import Any

from .accounts import SellerAccount, StoreAccount, make_sellers, make_stores
from .catalog import stable_seed
from .clock import DEFAULT_START, VirtualClock
from .faults import FaultBook
from .invoices import MarketplacerSeller
from .ledger import Ledger
from .orders import JumpsellerStore
from .ratelimit import RateLimiter

PLACEHOLDER_BASE = "http://127.0.0.1:0"
"""Base URL used for links before the server has a port (only ``truth_*`` can see it)."""


class SandboxState:
    def __init__(self, *, seed: int, orders: int, invoices: int, stores: int, sellers: int,
                 rate_limits: bool, start: datetime = DEFAULT_START,
                 shapes: frozenset[str] = frozenset()) -> None:
        if stores < 1 or sellers < 1:
            raise ValueError("the sandbox needs at least one store and one seller")
        if orders < 0 or invoices < 0:
            raise ValueError("orders and invoices cannot be negative")
        self.seed = seed
        self.shapes = shapes
        self.lock = threading.RLock()
        self.clock = VirtualClock(start)
        now = self.clock.timestamp()
        self.store_accounts: list[StoreAccount] = make_stores(stores)
        self.seller_accounts: list[SellerAccount] = make_sellers(sellers)
        self.stores: dict[str, JumpsellerStore] = {
            a.login: JumpsellerStore(a, seed=seed, orders=orders, now=now) for a in self.store_accounts
        }
        self.sellers: dict[str, MarketplacerSeller] = {
            a.name: MarketplacerSeller(a, index=i, seed=seed, invoices=invoices, now=now)
            for i, a in enumerate(self.seller_accounts)
        }
        self.ledger = Ledger(self.stores)
        self.jumpseller_limits = RateLimiter(20, 800, ban_after=30, ban_window=60, ban_seconds=60)
        self.marketplacer_limits = RateLimiter(50)
        self.jumpseller_limits.enabled = rate_limits
        self.marketplacer_limits.enabled = rate_limits
        self.faults = FaultBook(seed)
        self.base_url = PLACEHOLDER_BASE
        self._counts = {"jumpseller": 0, "marketplacer": 0, "invoicing": 0}
        self._count_lock = threading.Lock()
        self._advances = 0
        self.stop_event: asyncio.Event | None = None

    def on(self, shape: str) -> bool:
        """Whether answers take ``shape`` (see ``shapes.SHAPES``)."""
        return shape in self.shapes

    # ---- counters and waiting ---------------------------------------------------------------------

    def count(self, service: str) -> None:
        with self._count_lock:
            self._counts[service] = self._counts.get(service, 0) + 1

    def requests(self, service: str) -> int:
        if service not in self._counts:
            raise ValueError(f"unknown service {service!r}")
        with self._count_lock:
            return self._counts[service]

    def all_requests(self) -> dict[str, int]:
        with self._count_lock:
            return dict(self._counts)

    async def wait(self, seconds: float) -> None:
        """Sleep for a fault, waking early when the server stops (so shutdown stays quick)."""
        event = self.stop_event
        if event is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass

    # ---- clock -------------------------------------------------------------------------------

    def advance(self, hours: float) -> dict[str, Any]:
        """Move the clock and apply the seeded changes; returns what changed, per account."""
        if hours < 0:
            raise ValueError("hours cannot be negative")
        with self.lock:
            self._advances += 1
            t0, t1 = self.clock.advance(hours)
            result: dict[str, Any] = {"now": self.clock.now().isoformat(), "stores": {},
                                      "sellers": {}}
            for login, store in self.stores.items():
                r = Random(stable_seed(self.seed, "advance", self._advances, "store", login))
                result["stores"][login] = store.advance(r, t0, t1)
            for name, seller in self.sellers.items():
                r = Random(stable_seed(self.seed, "advance", self._advances, "seller", name))
                result["sellers"][name] = seller.advance(r, t0, t1)
            return result

    # ---- truth for tests ------------------------------------------------------------------------

    def store(self, login: str) -> JumpsellerStore:
        try:
            return self.stores[login]
        except KeyError:
            raise KeyError(f"no store {login!r} in this sandbox") from None

    def seller(self, name: str) -> MarketplacerSeller:
        try:
            return self.sellers[name]
        except KeyError:
            raise KeyError(f"no seller {name!r} in this sandbox") from None

    def truth_orders(self, login: str) -> list[dict[str, Any]]:
        with self.lock:
            store = self.store(login)
            return [store.payload(o) for o in store.orders]

    def truth_documents(self, login: str) -> dict[int, list[dict[str, Any]]]:
        with self.lock:
            store = self.store(login)
            return {oid: [d["document"] for d in store.documents_for(oid, self.base_url, self.shapes)]
                    for oid in sorted(store.documented_orders(self.shapes))}

    def truth_invoices(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            seller = self.seller(name)
            return [seller.list_resource(i, frozenset())[0] for i in seller.listed]

    def describe(self) -> dict[str, Any]:
        """The public state for ``GET /_control/state`` (no credentials)."""
        with self.lock:
            return {
                "now": self.clock.now().isoformat(),
                "base_url": self.base_url,
                "requests": self.all_requests(),
                "faults": self.faults.describe(),
                "rate_limits": self.jumpseller_limits.enabled,
                "shapes": sorted(self.shapes),
                "stores": [{"login": s.login, "currency": s.currency, "language": s.language,
                            "orders": len(s.orders)} for s in self.stores.values()],
                "sellers": [{"name": s.name, "currency": s.account.currency,
                             "invoices": len(s.listed)} for s in self.sellers.values()],
                "invoices_created": len(self.ledger.created),
            }
