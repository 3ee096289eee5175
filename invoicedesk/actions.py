"""Actions that change something at a service, each done exactly once.

Create Invoice, Credit Note, Mark Sent / Ready / Collected all go through the journal in the
cache (the record's history staff see):

1. ``pending`` is written before the request leaves, in the same transaction that checks no
   other action on the record is open (another InvoiceDesk, or a crash, or an unknown outcome).
2. The invoicing service answers → ``invoiced`` with its public id and URL is written at once,
   *before* attaching the document to the Jumpseller order. A crash after that point is
   finished on the next start by attaching (never by invoicing again).
3. Attached → ``done``, and the order is stored with its new document.

An answer that never came (timeout, dropped connection, a process killed mid-request) leaves
``unknown``: never re-sent automatically, shown as "Outcome unknown", and a retry needs explicit
confirmation (``force=True``, ``--force`` on the command line). A refusal by the service is
``failed`` with the service's words, verbatim, and nothing changed.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, replace
from typing import Any

from invoicedesk.cache import Cache, JournalBusyError, JournalEntry
from invoicedesk.domain import Invoice, Order
from invoicedesk.errors import (
    InvoiceDeskError,
    OutcomeUnknownError,
    RejectedError,
    ServiceError,
)
from invoicedesk.services import Services

log = logging.getLogger(__name__)

JS = "jumpseller"
MP = "marketplacer"


class ActionRefusedError(InvoiceDeskError):
    """The action is not allowed for this record now; nothing was sent."""


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    account: str
    record_id: str
    action: str
    state: str  # done | already_done | failed | unknown
    message: str
    public_id: str = ""
    url: str = ""
    record: Order | Invoice | None = None


def _owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Actions:
    """The one way the app and the command line change things at a service."""

    def __init__(self, services: Services, cache: Cache) -> None:
        self.services = services
        self.cache = cache
        self._running: set[tuple[str, str, str]] = set()

    # ------------------------------------------------------------------ guards

    def _claim(self, source: str, account: str, record_id: str) -> tuple[str, str, str]:
        key = (source, account, record_id)
        if key in self._running:
            raise ActionRefusedError(f"An action on {record_id} is already running.")
        self._running.add(key)
        return key

    def _begin(
        self, source: str, account: str, record_id: str, action: str, request: dict[str, Any], *, force: bool
    ) -> int:
        """Journal the intent; with ``force``, a confirmed retry closes an unknown outcome first."""
        try:
            return self.cache.journal_begin(source, account, record_id, action, {**request, **_owner()})
        except JournalBusyError as busy:
            entry = busy.entry
            if entry.state == "unknown" and force:
                self.cache.journal_update(entry.id, state="failed", message="Closed by a confirmed retry.")
                return self.cache.journal_begin(
                    source, account, record_id, action, {**request, **_owner(), "forced": True}
                )
            raise ActionRefusedError(str(busy)) from None

    # ------------------------------------------------------------------ Jumpseller

    async def create_invoice(
        self, account: str, order_id: int | str, *, force: bool = False
    ) -> ActionOutcome:
        return await self._invoice_like(account, str(order_id), "invoice", force=force)

    async def create_credit_note(
        self, account: str, order_id: int | str, *, force: bool = False
    ) -> ActionOutcome:
        return await self._invoice_like(account, str(order_id), "credit_note", force=force)

    async def _invoice_like(self, account: str, order_id: str, action: str, *, force: bool) -> ActionOutcome:
        key = self._claim(JS, account, order_id)
        try:
            js = self.services.jumpseller(account)
            invoicing = self.services.invoicing(account)
            # Fresh truth right before acting: the order as it is now, and its documents.
            order = await js.get_order(int(order_id))
            docs = await js.list_documents(int(order_id))
            order = replace(order, documents=tuple(docs))
            self.cache.upsert([order], documents_known=True)
            done = self._already_done(order, action)
            if done is not None:
                return done
            refusal = _refusal(order, action)
            if refusal:
                raise ActionRefusedError(refusal)

            entry = self._begin(JS, account, order_id, action, {"kind": action}, force=force)
            try:
                if action == "invoice":
                    result = await invoicing.create_invoice(order)
                else:
                    result = await invoicing.create_credit_note(order)
            except RejectedError as exc:
                self.cache.journal_update(entry, state="failed", message="; ".join(exc.messages))
                raise
            except OutcomeUnknownError as exc:
                self.cache.journal_update(entry, state="unknown", message=str(exc))
                raise
            except BaseException as exc:  # includes cancellation while waiting for the answer
                self.cache.journal_update(
                    entry,
                    state="unknown",
                    message=f"No answer from the invoicing service ({type(exc).__name__}).",
                )
                raise
            self.cache.journal_update(
                entry,
                state="invoiced",
                step="attach",
                result={"public_id": result.public_id, "url": result.url, "message": result.message},
                message=result.message or "",
            )
            order = await self._attach(
                entry, account, order, action, result.public_id, result.url, result.message or ""
            )
            noun = "Invoice" if action == "invoice" else "Credit note"
            return ActionOutcome(
                account,
                order_id,
                action,
                "done",
                result.message or f"{noun} {result.public_id} created and attached.",
                result.public_id,
                result.url,
                order,
            )
        finally:
            self._running.discard(key)

    def _already_done(self, order: Order, action: str) -> ActionOutcome | None:
        doc = order.invoice if action == "invoice" else order.credit_note
        if doc is None:
            return None
        noun = "invoice" if action == "invoice" else "credit note"
        return ActionOutcome(
            order.account,
            str(order.id),
            action,
            "already_done",
            f"Order {order.id} already has {noun} {doc.public_id}; nothing was sent.",
            doc.public_id,
            doc.url,
            order,
        )

    async def _attach(
        self, entry: int, account: str, order: Order, action: str, public_id: str, url: str, message: str
    ) -> Order:
        js = self.services.jumpseller(account)
        doc_type = 1 if action == "invoice" else 0
        try:
            current = await js.list_documents(order.id)
            if not any(d.public_id == public_id for d in current):
                await js.attach_document(
                    order.id, document_type=doc_type, public_id=public_id, url=url, external_id=public_id
                )
                current = await js.list_documents(order.id)
        except ServiceError as exc:
            self.cache.journal_update(
                entry,
                state="invoiced",
                message=f"Created {public_id}; attaching it failed: {exc}. "
                "It will be attached on the next sync.",
            )
            raise
        order = replace(order, documents=tuple(current))
        self.cache.journal_update(
            entry, state="done", step="", message=message or f"{public_id} attached.", records=[order]
        )
        return order

    # ------------------------------------------------------------------ Marketplacer

    async def mark_sent(
        self,
        account: str,
        invoice_id: str,
        *,
        tracking: str,
        carrier: str,
        note: str = "",
        force: bool = False,
    ) -> ActionOutcome:
        if not tracking.strip() or not carrier.strip():
            raise ActionRefusedError(
                "A tracking number and a carrier are both needed to mark an invoice sent."
            )
        return await self._mark(
            account,
            str(invoice_id),
            "mark_sent",
            {"tracking": tracking.strip(), "carrier": carrier.strip(), "note": note},
            force=force,
        )

    async def mark_ready(self, account: str, invoice_id: str, *, force: bool = False) -> ActionOutcome:
        return await self._mark(account, str(invoice_id), "mark_ready", {}, force=force)

    async def mark_collected(self, account: str, invoice_id: str, *, force: bool = False) -> ActionOutcome:
        return await self._mark(account, str(invoice_id), "mark_collected", {}, force=force)

    async def _mark(
        self, account: str, invoice_id: str, action: str, request: dict[str, str], *, force: bool
    ) -> ActionOutcome:
        key = self._claim(MP, account, invoice_id)
        try:
            client = self.services.marketplacer(account)
            invoice = self.cache.get_invoice(account, invoice_id)
            if invoice is None:
                invoice = await client.get_invoice(invoice_id)
                self.cache.upsert([invoice])
            refusal = invoice.action_refusal(action.removeprefix("mark_"))
            if refusal:
                raise ActionRefusedError(refusal)
            entry = self._begin(MP, account, invoice_id, action, request, force=force)
            try:
                if action == "mark_sent":
                    updated = await client.mark_sent(
                        invoice_id,
                        tracking=request["tracking"],
                        carrier=request["carrier"],
                        note=request["note"],
                    )
                elif action == "mark_ready":
                    updated = await client.mark_ready(invoice_id)
                else:
                    updated = await client.mark_collected(invoice_id)
            except RejectedError as exc:
                self.cache.journal_update(entry, state="failed", message="; ".join(exc.messages))
                raise
            except BaseException as exc:
                self.cache.journal_update(
                    entry,
                    state="unknown",
                    message=str(exc)
                    if isinstance(exc, InvoiceDeskError)
                    else f"No answer from the marketplace ({type(exc).__name__}).",
                )
                raise
            label = {
                "mark_sent": "sent",
                "mark_ready": "ready for collection",
                "mark_collected": "collected",
            }[action]
            message = f"Invoice {invoice_id} marked {label}."
            self.cache.journal_update(entry, state="done", message=message, records=[updated])
            return ActionOutcome(account, invoice_id, action, "done", message, record=updated)
        finally:
            self._running.discard(key)

    # ------------------------------------------------------------------ recovery

    async def resume(self) -> list[ActionOutcome]:
        """Finish what a crash interrupted; called at start and before each sync.

        - ``invoiced``: the invoice exists; attach it (checking first it is not attached yet).
        - ``pending`` whose process is gone: the request may or may not have reached the
          service. For Marketplacer the invoice's state tells; for invoicing nothing can tell,
          so the outcome is ``unknown`` (staff check and retry with confirmation).
        """
        outcomes = []
        for entry in self.cache.journal(open_only=True):
            try:
                outcome = await self._resume_one(entry)
            except InvoiceDeskError as exc:
                log.warning("could not finish %s on %s: %s", entry.action, entry.record_id, exc)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _resume_one(self, entry: JournalEntry) -> ActionOutcome | None:
        owner_pid = entry.request.get("pid")
        same_host = entry.request.get("host") == socket.gethostname()
        if (
            entry.state == "pending"
            and same_host
            and isinstance(owner_pid, int)
            and owner_pid != os.getpid()
            and _pid_alive(owner_pid)
        ):
            return None  # another InvoiceDesk is doing it right now
        if entry.state == "pending" and same_host and owner_pid == os.getpid():
            key = (entry.source, entry.account, entry.record_id)
            if key in self._running:
                return None
        if entry.state == "invoiced" and entry.source == JS:
            js = self.services.jumpseller(entry.account)
            order = await js.get_order(int(entry.record_id))
            public_id = str(entry.result.get("public_id", ""))
            url = str(entry.result.get("url", ""))
            order = await self._attach(
                entry.id,
                entry.account,
                order,
                entry.action,
                public_id,
                url,
                str(entry.result.get("message", "")),
            )
            return ActionOutcome(
                entry.account,
                entry.record_id,
                entry.action,
                "done",
                f"Finished: {public_id} attached to order {entry.record_id}.",
                public_id,
                url,
                order,
            )
        if entry.state == "pending" and entry.source == MP:
            client = self.services.marketplacer(entry.account)
            invoice = await client.get_invoice(entry.record_id)
            target = {
                "mark_sent": ("sent",),
                "mark_ready": ("ready", "collected"),
                "mark_collected": ("collected",),
            }.get(entry.action, ())
            if invoice.status in target:
                self.cache.journal_update(
                    entry.id, state="done", message="Confirmed after a restart.", records=[invoice]
                )
                return ActionOutcome(
                    entry.account,
                    entry.record_id,
                    entry.action,
                    "done",
                    "Confirmed after a restart.",
                    record=invoice,
                )
            self.cache.journal_update(
                entry.id,
                state="failed",
                records=[invoice],
                message="Interrupted before the marketplace applied it; nothing changed.",
            )
            return None
        if entry.state == "pending":
            self.cache.journal_update(
                entry.id,
                state="unknown",
                message="InvoiceDesk stopped while waiting for the invoicing service: check whether the "
                "invoice was made before retrying.",
            )
            return ActionOutcome(
                entry.account,
                entry.record_id,
                entry.action,
                "unknown",
                "Outcome unknown after an interruption.",
            )
        return None


def _refusal(order: Order, action: str) -> str | None:
    if action == "invoice":
        if order.status != "paid":
            return f"Order {order.id} is {order.status_label or order.status}: only paid orders are invoiced."
        return None
    if order.status != "canceled":
        return f"Order {order.id} is not canceled: a credit note is only for canceled orders."
    if order.invoice is None:
        return f"Order {order.id} was never invoiced: there is nothing to credit."
    return None


def refusal_for(record: Order | Invoice, action: str) -> str | None:
    """Why an action is not possible now (buttons' tooltips, the CLI's refusal), or None."""
    if isinstance(record, Order):
        if action not in ("invoice", "credit_note"):
            return "Jumpseller orders are invoiced, not marked; that is for Marketplacer invoices."
        if action == "invoice" and record.invoice is not None:
            return f"Already invoiced: {record.invoice.public_id}."
        if action == "credit_note" and record.credit_note is not None:
            return f"Credit note already issued: {record.credit_note.public_id}."
        return _refusal(record, action)
    if action in ("invoice", "credit_note"):
        return "Marketplacer invoices are made by the marketplace; only Jumpseller orders are invoiced here."
    return record.action_refusal(action.removeprefix("mark_"))
