"""The sandbox invoicing service's books: every invoice and credit note it issued.

Kept apart from the HTTP routes (``invoicing.py``) because the shared state owns one ledger and
the routes read the shared state: with both in one module they would import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .orders import CREDIT_NOTE, INVOICE, JumpsellerStore


@dataclass
class Issued:
    """A document this service issued: before the sandbox started (``order`` None) or over HTTP."""

    login: str
    order_id: int
    kind: str
    public_id: str
    order: dict[str, Any] | None = None
    at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Ledger:
    """Every invoice and credit note issued, by public id and by (store, order)."""

    def __init__(self, stores: dict[str, JumpsellerStore]) -> None:
        self.stores = stores
        self.created: list[dict[str, Any]] = []
        self.issued: dict[str, Issued] = {}
        self.by_order: dict[tuple[str, int], list[Issued]] = {}
        for store in stores.values():
            for oid, docs in store.documents.items():
                for d in docs:
                    kind = INVOICE if d["document_type"] == 1 else CREDIT_NOTE
                    self._remember(Issued(store.login, oid, kind, d["public_id"]))

    def _remember(self, doc: Issued) -> None:
        self.issued[doc.public_id] = doc
        self.by_order.setdefault((doc.login, doc.order_id), []).append(doc)

    def invoiced_before(self, login: str, order_id: int) -> bool:
        return any(d.kind == INVOICE for d in self.by_order.get((login, order_id), []))

    def issue(self, store: JumpsellerStore, order_id: int, kind: str, order: dict[str, Any],
              *, at: str, idempotency_key: str | None, base_url: str) -> dict[str, Any]:
        public_id = store.next_public_id(kind)
        doc = Issued(store.login, order_id, kind, public_id, order, at)
        self._remember(doc)
        record = {
            "store": store.login,
            "login": store.login,
            "order_id": order_id,
            "kind": kind,
            "public_id": public_id,
            "url": f"{base_url}/invoicing/documents/{public_id}",
            "idempotency_key": idempotency_key,
            "at": at,
            "total": order.get("total"),
            "currency": order.get("currency"),
            "order": order,
        }
        self.created.append(record)
        return record

    def created_for(self, login: str | None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.created if login is None or r["login"] == login]
