"""What the store's staff (or another app) do in the Jumpseller admin, and counting at the sandbox.

The sandbox has no admin pages: these change its state the way an admin edit would (under its
lock, bumping its version), and count what its invoicing service really issued.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from typing import Any


def set_order_status(sb: Any, login: str, order_id: int, status: str) -> None:
    """Staff change the order's status in the admin (the spec allows Paid after Canceled)."""
    state = sb._state
    with state.lock:
        store = state.stores[login]
        store.by_id[order_id].status = status
        store.version += 1


def attach_document(
    sb: Any, login: str, order_id: int, *, document_type: Any, public_id: str, app_code: str | None
) -> None:
    """Another app attaches a document to the order, writing ``document_type`` as it likes."""
    state = sb._state
    with state.lock:
        state.stores[login].documents.setdefault(order_id, []).append(
            {
                "document_type": document_type,
                "external_id": public_id,
                "public_id": public_id,
                "url": f"https://billing.example.com/{public_id}",
                "order_id": order_id,
                "app_code": app_code,
            }
        )


def issued(sb: Any, login: str, kind: str = "invoice") -> Counter[int]:
    """Documents of ``kind`` the invoicing service issued over HTTP, per order id."""
    return Counter(int(r["order_id"]) for r in sb.invoices_created(login) if r["kind"] == kind)


def paid_orders(sb: Any, login: str, *, without_documents: bool = True) -> list[int]:
    """Paid orders the invoicing service will invoice (it refuses e.g. a business without a
    tax id), with no document yet."""
    from invoicedesk.clients.invoicing import contract_payload
    from invoicedesk.domain import parse_order
    from invoicedesk.sandbox.invoicing import RefusedError, check_order

    docs = sb.truth_documents(login)
    out = []
    for o in sb.truth_orders(login):
        oid = int(o["order"]["id"])
        order = parse_order(o, account=login)
        if order.status != "paid" or (without_documents and docs.get(oid)):
            continue
        try:
            check_order(contract_payload(order))
        except RefusedError:
            continue
        out.append(oid)
    return out


class HoldingProxy:
    """A TCP proxy on 127.0.0.1 that holds the answer to a request whose text contains
    ``marker`` until :meth:`release`: the service has already answered (the read is done at
    the server), only its delivery waits, as on a slow network. ``held`` is set once an answer
    is being held."""

    def __init__(self, upstream_port: int, marker: bytes) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.held = threading.Event()
        self._release = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> HoldingProxy:
        started = threading.Event()

        async def serve() -> None:
            self._server = await asyncio.start_server(self._client, sock=self._sock)
            started.set()

        self._thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop)
        if not started.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self._release.set()

        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        holding = asyncio.Event()

        async def upstream() -> None:
            while data := await reader.read(65536):
                if self.marker in data:
                    holding.set()
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if holding.is_set() and not self._release.is_set():
                    self.held.set()
                    await asyncio.get_running_loop().run_in_executor(None, self._release.wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            up_writer.close()
