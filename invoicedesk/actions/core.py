"""``Actions``: claim, send once, record the outcome; Jumpseller invoices and credit notes,
Marketplacer marks, and checking an unknown outcome. Recovery after a crash is in ``recovery``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from invoicedesk.action_table import spec
from invoicedesk.actions.outcomes import (
    JS,
    MP,
    ActionOutcome,
    ActionRefusedError,
    ConfirmationNeededError,
    T,
    _error_message,
    _owner,
    _refusal,
    _targets,
    credit_note_not_configured,
    outcome_state,
    unreadable_documents_text,
)
from invoicedesk.actions.recovery import resume
from invoicedesk.cache import AlreadyDoneError, Cache, JournalBusyError
from invoicedesk.domain import Document, Invoice, Order, parse_invoice_document
from invoicedesk.errors import (
    InvoiceDeskError,
    RejectedError,
    ServiceError,
)
from invoicedesk.journal import Journal, LocalJournal
from invoicedesk.merge import is_partial, merge_jsonapi
from invoicedesk.rules import invoice_blocker
from invoicedesk.services import Services

log = logging.getLogger(__name__)


class Actions:
    """The one way the app and the command line change things at a service."""

    def __init__(self, services: Services, cache: Cache, journal: Journal | None = None) -> None:
        self.services = services
        self.cache = cache
        self.journal: Journal = journal if journal is not None else LocalJournal(cache)
        self._running: set[tuple[str, str, str]] = set()

    # ------------------------------------------------------------------ guards

    def _claim(self, source: str, account: str, record_id: str) -> tuple[str, str, str]:
        key = (source, account, record_id)
        if key in self._running:
            raise ActionRefusedError(f"An action on {record_id} is already running.")
        self._running.add(key)
        return key

    async def _begin(
        self,
        source: str,
        account: str,
        record_id: str,
        action: str,
        request: dict[str, Any],
        *,
        force: bool,
        documents: tuple[Document, ...] | None = None,
    ) -> int:
        """Journal the intent; with ``force``, a confirmed retry closes an unknown outcome first."""
        try:
            return await self.journal.begin(
                source, account, record_id, action, {**request, **_owner()}, documents=documents
            )
        except JournalBusyError as busy:
            entry = busy.entry
            if entry.state == "unknown" and force:
                await self.journal.update(entry.id, state="failed", message="Closed by a confirmed retry.")
                return await self.journal.begin(
                    source,
                    account,
                    record_id,
                    action,
                    {**request, **_owner(), "forced": True},
                    documents=documents,
                )
            raise ActionRefusedError(str(busy)) from None

    async def _journaled(self, entry: int, call: Callable[[], Awaitable[T]], who: str) -> T:
        """Run the one request an entry is about; a failure ends the entry by its type."""
        try:
            return await call()
        except BaseException as exc:  # includes cancellation while waiting for the answer
            state = outcome_state(exc)
            message = _error_message(exc, who)
            if state == "failed" and not isinstance(exc, RejectedError):
                message += " Nothing was done; it can be tried again."
            await self.journal.update(entry, state=state, message=message)
            raise

    # ------------------------------------------------------------------ Jumpseller

    async def create_invoice(
        self, account: str, order_id: int | str, *, force: bool = False, confirm_documents: bool = False
    ) -> ActionOutcome:
        return await self._invoice_like(
            account, str(order_id), "invoice", force=force, confirm_documents=confirm_documents
        )

    async def create_credit_note(
        self, account: str, order_id: int | str, *, force: bool = False
    ) -> ActionOutcome:
        return await self._invoice_like(account, str(order_id), "credit_note", force=force)

    async def _fresh_order(self, account: str, order_id: str) -> Order:
        """The order as it is now at Jumpseller, with its documents, stored in the cache."""
        js = self.services.jumpseller(account)
        order = await js.get_order(int(order_id))
        docs = await js.list_documents(int(order_id))
        order = replace(order, documents=tuple(docs))
        self.cache.upsert([order], documents_known=True)
        return order

    async def _invoice_like(
        self, account: str, order_id: str, action: str, *, force: bool, confirm_documents: bool = False
    ) -> ActionOutcome:
        key = self._claim(JS, account, order_id)
        try:
            invoicing = self.services.invoicing(account)
            if action == "credit_note" and not invoicing.credit_note_url:
                raise ActionRefusedError(credit_note_not_configured(account))
            # Fresh truth right before acting: the order as it is now, and its documents.
            order = await self._fresh_order(account, order_id)
            if force:
                adopted = await self._adopt(order, action)
                if adopted is not None:
                    return adopted
            done = self._already_done(order, action)
            if done is not None:
                return done
            refusal = _refusal(order, action)
            if refusal:
                raise ActionRefusedError(refusal)
            if action == "invoice" and order.unreadable_documents and not confirm_documents:
                raise ConfirmationNeededError(unreadable_documents_text(order))
            if action == "invoice":
                blocker = invoice_blocker(order)
                if blocker:
                    raise ActionRefusedError(blocker)

            try:
                entry = await self._begin(
                    JS, account, order_id, action, {"kind": action}, force=force, documents=order.documents
                )
            except AlreadyDoneError as exc:
                return ActionOutcome(
                    account, order_id, action, "already_done", str(exc), exc.public_id, "", order
                )
            create = invoicing.create_invoice if action == "invoice" else invoicing.create_credit_note
            result = await self._journaled(entry, lambda: create(order), "the invoicing service")
            await self.journal.update(
                entry,
                state="invoiced",
                step="attach",
                result={"public_id": result.public_id, "url": result.url, "message": result.message},
                message=result.message or "",
            )
            order = await self.attach(
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
        if action == "invoice":
            doc = order.invoice if order.is_invoiced else None
            noun = "invoice"
        else:
            doc = order.credit_note if (not order.is_invoiced and order.invoice is not None) else None
            noun = "credit note"
        if doc is None:
            return None
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

    async def _adopt(self, order: Order, action: str) -> ActionOutcome | None:
        """An unknown outcome whose document is now attached: the journal takes it as done."""
        unknown = [
            e
            for e in await self.journal.entries(JS, order.account, str(order.id), open_only=True)
            if e.state == "unknown" and e.action == action
        ]
        if not unknown:
            return None
        made = self._already_done(order, action)
        if made is None:
            return None
        message = f"Found {made.public_id} at the service: the earlier request had worked; nothing was sent."
        await self.journal.update(
            unknown[0].id,
            state="done",
            result={"public_id": made.public_id, "url": made.url, "adopted": True},
            message=message,
            records=[order],
        )
        return replace(made, state="adopted", message=message)

    async def attach(
        self, entry: int, account: str, order: Order, action: str, public_id: str, url: str, message: str
    ) -> Order:
        """Attach a document the invoicing service made to its order (unless it already is),
        and journal ``done`` with the order's documents; after a crash, ``recovery`` calls it."""
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
            await self.journal.update(
                entry,
                state="invoiced",
                message=f"Created {public_id}; attaching it failed: {exc}. "
                "It will be attached on the next sync.",
            )
            raise
        order = replace(order, documents=tuple(current))
        await self.journal.update(
            entry, state="done", step="", message=message or f"{public_id} attached.", records=[order]
        )
        return order

    # ------------------------------------------------------------------ checking an unknown outcome

    async def check(self, source: str, account: str, record_id: str) -> ActionOutcome:
        """Look at the service for what an action of unknown outcome did.

        Jumpseller: re-read the order's documents; a document that appeared is adopted (the
        journal entry becomes ``done``). If none appeared, the outcome stays unknown: the
        invoicing service may have made a document whose answer never arrived, so a retry
        needs explicit confirmation. Marketplacer: the invoice's state tells for certain.
        """
        open_entries = await self.journal.entries(source, account, record_id, open_only=True)
        unknown = [e for e in open_entries if e.state == "unknown"]
        if not unknown:
            state = open_entries[0].state if open_entries else "none"
            return ActionOutcome(
                account, record_id, "check", "not_found",
                f"No action of unknown outcome on {record_id} (open: {state}).",
            )
        entry = unknown[0]
        key = self._claim(source, account, record_id)
        try:
            if source == JS:
                order = await self._fresh_order(account, record_id)
                adopted = await self._adopt(order, entry.action)
                if adopted is not None:
                    return adopted
                noun = "invoice" if entry.action == "invoice" else "credit note"
                return ActionOutcome(
                    account,
                    record_id,
                    entry.action,
                    "unknown",
                    f"No {noun} is attached to order {record_id} at Jumpseller. The invoicing service may "
                    f"still have made one whose answer never arrived: look there first. Retrying may "
                    f"make a second {noun}.",
                    record=order,
                )
            client = self.services.marketplacer(account)
            invoice = await client.get_invoice(record_id)
            if invoice.status in _targets(entry.action):
                message = "Confirmed at the marketplace: the change had been applied."
                await self.journal.update(entry.id, state="done", message=message, records=[invoice])
                return ActionOutcome(account, record_id, entry.action, "adopted", message, record=invoice)
            message = "The marketplace did not apply the change; it can be tried again."
            await self.journal.update(entry.id, state="failed", message=message, records=[invoice])
            return ActionOutcome(account, record_id, entry.action, "failed", message, record=invoice)
        finally:
            self._running.discard(key)

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
            entry = await self._begin(MP, account, invoice_id, action, request, force=force)

            async def send() -> Invoice:
                if action == "mark_sent":
                    return await client.mark_sent(
                        invoice_id,
                        tracking=request["tracking"],
                        carrier=request["carrier"],
                        note=request["note"],
                    )
                if action == "mark_ready":
                    return await client.mark_ready(invoice_id)
                return await client.mark_collected(invoice_id)

            answer = await self._journaled(entry, send, "the marketplace")
            updated = await self._merged(client, invoice, answer)
            message = f"Invoice {invoice_id} marked {spec(action).done_word}."
            await self.journal.update(entry, state="done", message=message, records=[updated])
            return ActionOutcome(account, invoice_id, action, "done", message, record=updated)
        finally:
            self._running.discard(key)

    async def _merged(self, client: Any, cached: Invoice, answer: Invoice) -> Invoice:
        """The answer laid over the cached invoice, field by field; re-read when it was thin."""
        merged_raw = merge_jsonapi(cached.raw, answer.raw)
        if is_partial(cached.raw, answer.raw):
            try:
                full: Invoice = await client.get_invoice(answer.id or cached.id)
            except InvoiceDeskError as exc:
                log.info("re-reading invoice %s after an action failed: %s", cached.id, exc)
            else:
                return full
        try:
            return parse_invoice_document(merged_raw, account=cached.account, currency=cached.currency)
        except InvoiceDeskError:
            return answer

    # ------------------------------------------------------------------ recovery

    async def resume(self) -> list[ActionOutcome]:
        """Finish what a crash interrupted; called at start and before each sync (see ``recovery``)."""
        return await resume(self)
