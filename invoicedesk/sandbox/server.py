"""The ``Sandbox``: one real HTTP server on 127.0.0.1 playing Jumpseller, Marketplacer and the
invoicing endpoint, for the tests and the app's ``--demo`` mode.

uvicorn runs in a daemon thread with its own event loop on a socket bound before the thread
starts, so the port is known at once and ``start()`` only has to wait until it is serving.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router

from . import control, invoicing, jumpseller, marketplacer
from .accounts import SellerAccount, StoreAccount
from .clock import DEFAULT_START
from .faults import FaultGate, quiet_drop_logs
from .shapes import resolve
from .state import SandboxState


def _json_404(message: str) -> Any:
    async def not_found(scope: Any, receive: Any, send: Any) -> None:
        await JSONResponse({"message": message}, 404)(scope, receive, send)

    return not_found


def build_app(state: SandboxState) -> Starlette:
    """The ASGI app: each service behind its own fault gate, control without one."""

    def gated(service: str, routes: list[Any], not_found: Any) -> FaultGate:
        return FaultGate(Router(routes=routes, default=not_found), service, state.faults,
                         state.count, state.wait)

    async def index(request: Request) -> Response:
        return JSONResponse({"services": {
            "jumpseller": f"{state.base_url}/jumpseller/v1",
            "marketplacer": f"{state.base_url}/marketplacer",
            "invoicing": f"{state.base_url}/invoicing/invoices",
            "control": f"{state.base_url}/_control/state",
        }})

    return Starlette(routes=[
        Route("/", index),
        Mount("/jumpseller/v1", app=gated("jumpseller", jumpseller.routes(state),
                                          _json_404("Not found"))),
        Mount("/marketplacer/api/v2/client", app=gated(
            "marketplacer", marketplacer.routes(state),
            _json_404("Not found"))),
        Mount("/invoicing", app=gated("invoicing", invoicing.routes(state),
                                      _json_404("Not found"))),
        Mount("/_control", routes=control.routes(state)),
    ])


class Sandbox:
    """The three services on one port; see docs/CONTRACTS.md ("Sandbox") for the contract."""

    def __init__(self, seed: int = 7, orders: int = 300, invoices: int = 300, stores: int = 2,
                 sellers: int = 1, rate_limits: bool = True, *, port: int = 0,
                 start_at: datetime = DEFAULT_START, shapes: Iterable[str] | None = None,
                 profile: str | None = None) -> None:
        self.seed = seed
        self._state = SandboxState(seed=seed, orders=orders, invoices=invoices, stores=stores,
                                   sellers=sellers, rate_limits=rate_limits, start=start_at,
                                   shapes=resolve(shapes, profile))
        self._port_wanted = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    # ---- life cycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> Sandbox:
        """Serve in a background thread; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this sandbox is already started")
        quiet_drop_logs()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._port_wanted))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        self._state.base_url = f"http://127.0.0.1:{self._port}"
        config = uvicorn.Config(
            build_app(self._state), host="127.0.0.1", port=self._port, loop="asyncio",
            http="h11", ws="none", lifespan="off", log_config=None, log_level="warning",
            access_log=False, server_header=False, timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(sock, ready),
                                        name=f"sandbox-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._failure is not None or not self._thread.is_alive():
                self._thread.join(1)
                raise RuntimeError(f"the sandbox server failed to start: {self._failure!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start in time")
            ready.wait(0.005)
        return self

    def _run(self, sock: socket.socket, ready: threading.Event) -> None:
        assert self._server is not None
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            asyncio.set_event_loop(loop)
            self._state.stop_event = asyncio.Event()
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to start()
            self._failure = exc
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                sock.close()
                ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down cleanly: wake sleeping faults, stop accepting, finish, join the thread."""
        server, thread, loop = self._server, self._thread, self._loop
        if server is None or thread is None:
            return
        event = self._state.stop_event
        if loop is not None and event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass  # the loop closed meanwhile
        server.should_exit = True
        thread.join(timeout)
        self._server = self._thread = self._loop = None
        self._state.stop_event = None
        if thread.is_alive():
            raise RuntimeError("the sandbox server did not stop in time")

    def __enter__(self) -> Sandbox:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._state.base_url if self._port else "not started"
        return f"<Sandbox seed={self.seed} {where}>"

    # ---- addresses and accounts ---------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jumpseller_url(self) -> str:
        return self.base_url + "/jumpseller/v1"

    @property
    def marketplacer_url(self) -> str:
        return self.base_url + "/marketplacer"

    @property
    def invoicing_url(self) -> str:
        return self.base_url + "/invoicing/invoices"

    @property
    def credit_note_url(self) -> str:
        """The credit-note route: issues credit notes only, never an invoice."""
        return self.base_url + "/invoicing/credit-notes"

    @property
    def control_url(self) -> str:
        return self.base_url + "/_control"

    @property
    def stores(self) -> list[StoreAccount]:
        return list(self._state.store_accounts)

    @property
    def sellers(self) -> list[SellerAccount]:
        return list(self._state.seller_accounts)

    def store(self, login: str) -> StoreAccount:
        return self._state.store(login).account

    def seller(self, name: str) -> SellerAccount:
        return self._state.seller(name).account

    # ---- answer shapes ---------------------------------------------------------------------------

    @property
    def shapes(self) -> frozenset[str]:
        """The answer shapes switched on (names in ``sandbox/shapes.py``)."""
        return self._state.shapes

    def set_shapes(self, shapes: Iterable[str] | None = None, profile: str | None = None) -> None:
        """Answer from now on in ``profile``'s shapes plus ``shapes`` (nothing: the default)."""
        chosen = resolve(shapes, profile)
        with self._state.lock:
            self._state.shapes = chosen

    # ---- clock, faults, counters ----------------------------------------------------------------

    def now(self) -> datetime:
        """The virtual clock (timezone-aware UTC)."""
        return self._state.clock.now()

    def advance(self, hours: float = 24) -> dict[str, Any]:
        """Move the virtual clock; returns the ids that changed per store and seller."""
        return self._state.advance(hours)

    def inject(self, service: str, kind: str, rate: float = 1.0, count: int | None = None,
               delay: float = 0.0) -> None:
        self._state.faults.inject(service, kind, rate=rate, count=count, delay=delay)

    def clear_faults(self, service: str | None = None) -> None:
        self._state.faults.clear(service)

    def requests(self, service: str) -> int:
        return self._state.requests(service)

    def ban(self, login: str, seconds: float = 60.0) -> None:
        """Ban a store as if it had hit the rate limit too often (no need to flood it)."""
        self._state.store(login)
        self._state.jumpseller_limits.ban(login, seconds)

    def set_rate_limits(self, enabled: bool) -> None:
        """Switch rate limits on or off while running (clears the windows and bans)."""
        for limiter in (self._state.jumpseller_limits, self._state.marketplacer_limits):
            limiter.enabled = enabled
            limiter.reset()

    # ---- truth, for tests ------------------------------------------------------------------------

    def invoices_created(self, login: str | None = None,
                         order_id: int | None = None) -> list[dict[str, Any]]:
        """Every document the invoicing service issued over HTTP (not the ones seeded at start),
        invoices and credit notes alike (``kind``), optionally for one order."""
        with self._state.lock:
            return [r for r in self._state.ledger.created_for(login)
                    if order_id is None or r["order_id"] == order_id]

    def issued_kinds(self, login: str, order_id: int) -> list[str]:
        """Kinds (``"invoice"``/``"credit_note"``) the invoicing service ever issued for one
        order, seeded ones included, oldest first."""
        with self._state.lock:
            return [d.kind for d in self._state.ledger.by_order.get((login, order_id), [])]

    def truth_orders(self, login: str) -> list[dict[str, Any]]:
        """Current ``{"order": ...}`` bodies, ascending by id."""
        return self._state.truth_orders(login)

    def truth_documents(self, login: str) -> dict[int, list[dict[str, Any]]]:
        """Documents attached to each order right now (order id -> document dicts)."""
        return self._state.truth_documents(login)

    def truth_invoices(self, seller: str) -> list[dict[str, Any]]:
        """Current listed invoices as ``GET /invoices`` resources, in listing order."""
        return self._state.truth_invoices(seller)

    def truth_invoice_document(self, seller: str, invoice_id: int) -> dict[str, Any]:
        """The ``GET /invoices/{id}`` document as it would be served now."""
        with self._state.lock:
            s = self._state.seller(seller)
            return s.document(s.by_id[invoice_id], f"{self._state.base_url}/marketplacer/api/v2/client")
