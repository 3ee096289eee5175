"""Helpers shared by the core tests: wiring real services, a real cache and the sandbox's truth."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from invoicedesk.cache import Cache
from invoicedesk.demo import demo_config
from invoicedesk.services import Services


def wire(sb: Any, folder: Path, *, timeout: float | None = None) -> tuple[Services, Cache]:
    config, secrets = demo_config(sb)
    t = httpx.Timeout(timeout, connect=5.0) if timeout else None
    return Services(config, secrets, folder, timeout=t), Cache.open(folder)


def truth_orders(sb: Any, login: str) -> dict[str, tuple[str, str]]:
    """order id -> (status_enum, latest invoice public id or "") as the sandbox has it now."""
    docs = sb.truth_documents(login)
    out = {}
    for body in sb.truth_orders(login):
        o = body["order"]
        invoices = [d["public_id"] for d in docs.get(o["id"], []) if d["document_type"] == 1]
        out[str(o["id"])] = (o["status_enum"], invoices[-1] if invoices else "")
    return out


def cached_orders(cache: Cache, login: str) -> dict[str, tuple[str, str]]:
    from invoicedesk.cache import Query

    return {
        r.summary.id: (r.summary.status, r.summary.invoice_public_id)
        for r in cache.iter_all(Query(source="jumpseller", account=login))
    }


def truth_invoices(sb: Any, seller: str) -> dict[str, str]:
    return {str(r["id"]): r["attributes"]["status"] for r in sb.truth_invoices(seller)}


def cached_invoices(cache: Cache, seller: str) -> dict[str, str]:
    from invoicedesk.cache import Query

    return {r.summary.id: r.summary.status for r in cache.iter_all(Query(source="marketplacer", account=seller))}


def wait_until(check: Callable[[], object], timeout: float = 10.0, step: float = 0.01) -> bool:
    """Poll a condition on the world (another process, the sandbox, a file) until it holds or the
    time is up, like qtbot.waitUntil for things outside Qt. Returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())
