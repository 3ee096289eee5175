"""Actions that change something at a service, each done exactly once.

Create Invoice, Credit Note, Mark Sent / Ready / Collected all go through the journal in the
cache (the record's history staff see):

1. ``pending`` is written before the request leaves, in the same transaction that checks no
   other action on the record is open (another InvoiceDesk, or a crash, or an unknown outcome).
2. The invoicing service answers → ``invoiced`` with its public id and URL is written at once,
   *before* attaching the document to the Jumpseller order. A crash after that point is
   finished on the next start by attaching (never by invoicing again).
3. Attached → ``done``, and the order is stored with its new document.

The claim in step 1 also counts what already exists (finished journal entries, the cached
documents and the fresh documents read right before acting), so a second process acting on a
stale read is refused there: see ``Cache.journal_begin``.

How an error ends the entry (``outcome_state``):

- ``unknown``: the request may have reached the service and no usable answer came back (a
  timeout after sending, a dropped connection, a 5xx other than 503 on a write, a 2xx that
  cannot be read as success or refusal, a process killed or cancelled mid-request). Never
  re-sent automatically, shown as "Outcome unknown"; "Check at the service" (``check``) re-reads
  the record and adopts what it finds; a retry needs explicit confirmation (``force=True``).
- ``failed``: nothing was done (connection refused, DNS or TLS failure, 401/403/404/422,
  429 or 503 before processing, a 2xx ``{"message"}`` refusal): the reason is shown, retry is
  allowed, and the record is owed the action again.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from invoicedesk.action_table import spec
from invoicedesk.cache import AlreadyDoneError, Cache, JournalBusyError, JournalEntry
from invoicedesk.domain import Document, Invoice, Order, parse_invoice_document
from invoicedesk.errors import (
    AuthError,
    ConfigError,
    InsecureURLError,
    InvoiceDeskError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServiceError,
    UnavailableError,
)
from invoicedesk.journal import Journal, LocalJournal
from invoicedesk.merge import is_partial, merge_jsonapi
from invoicedesk.money import AmountNotExactError
from invoicedesk.rules import invoice_blocker
from invoicedesk.services import Services

log = logging.getLogger(__name__)

JS = "jumpseller"
MP = "marketplacer"
T = TypeVar("T")

class ActionRefusedError(InvoiceDeskError):
    """The action is not allowed for this record now; nothing was sent."""


class ConfirmationNeededError(ActionRefusedError):
    """Staff must confirm first (e.g. the order carries a document whose type can't be read)."""


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    account: str
    record_id: str
    action: str
    state: str  # done | already_done | adopted | failed | unknown | not_found
    message: str
    public_id: str = ""
    url: str = ""
    record: Order | Invoice | None = None


def outcome_state(exc: BaseException) -> str:
    """``failed`` when the error proves nothing was done at the service, else ``unknown``."""
    if isinstance(exc, OutcomeUnknownError):
        return "unknown"
    if isinstance(exc, MalformedResponseError):
        return "unknown"  # a 2xx (or redirect) we cannot read: it may have been done
    if isinstance(
        exc,
        RejectedError | AuthError | NotFoundError | RateLimitedError | UnavailableError
        | ConfigError | InsecureURLError | AmountNotExactError,
    ):
        # Refused, unauthorised, not found, rate limited, or never connected (refused, DNS,
        # TLS) or 503: the service did not act on it.
        return "failed"
    return "unknown"  # cancelled or killed mid-request, or anything unexpected


def _error_message(exc: BaseException, who: str) -> str:
    if isinstance(exc, RejectedError):
        return "; ".join(exc.messages)
    if isinstance(exc, InvoiceDeskError):
        return str(exc)
    return f"No answer from {who} ({type(exc).__name__})."


def _targets(action: str) -> tuple[str, ...]:
    """The invoice states that show a mark action was applied."""
    try:
        return spec(action).target_states
    except ValueError:
        return ()


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
        """Finish what a crash interrupted; called at start and before each sync.

        - ``invoiced``: the invoice exists; attach it (checking first it is not attached yet).
        - ``pending`` whose process is gone: the request may or may not have reached the
          service. For Marketplacer the invoice's state tells; for invoicing nothing can tell,
          so the outcome is ``unknown`` (staff check and retry with confirmation).
        """
        outcomes = []
        catch_up = getattr(self.journal, "catch_up", None)
        if catch_up is not None:
            await catch_up()  # outcomes kept here while the team database was away
        for entry in await self.journal.entries(open_only=True):
            try:
                outcome = await self._resume_one(entry)
            except InvoiceDeskError as exc:
                log.warning("could not finish %s on %s: %s", entry.action, entry.record_id, exc)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _resume_one(self, entry: JournalEntry) -> ActionOutcome | None:
        alive = await self.journal.owner_alive(entry)
        if alive:
            return None  # another desk is on it right now
        owner_pid = entry.request.get("pid")
        same_host = entry.request.get("host") == socket.gethostname()
        if (
            alive is None
            and entry.state == "pending"
            and same_host
            and isinstance(owner_pid, int)
            and owner_pid != os.getpid()
            and _pid_alive(owner_pid)
        ):
            return None  # another InvoiceDesk is doing it right now
        if entry.state in ("pending", "invoiced") and same_host and owner_pid == os.getpid():
            key = (entry.source, entry.account, entry.record_id)
            if key in self._running:
                return None
        if entry.state == "invoiced" and entry.source == JS:
            if entry.account not in {a.name for a in self.services.config.jumpseller}:
                return None
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
            if entry.account not in {a.name for a in self.services.config.marketplacer}:
                return None
            client = self.services.marketplacer(entry.account)
            invoice = await client.get_invoice(entry.record_id)
            if invoice.status in _targets(entry.action):
                await self.journal.update(
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
            await self.journal.update(
                entry.id,
                state="failed",
                records=[invoice],
                message="Interrupted before the marketplace applied it; nothing changed.",
            )
            return None
        if entry.state == "pending":
            await self.journal.update(
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


def credit_note_not_configured(account: str) -> str:
    return (
        f"Account '{account}' has no credit-note endpoint: a credit note URL (credit_note_url) "
        "must be set in the Accounts dialog before credit notes can be issued. Nothing was sent."
    )


def unreadable_documents_text(order: Order) -> str:
    listed = "; ".join(d.describe() for d in order.unreadable_documents)
    return (
        f"Order {order.id} carries documents InvoiceDesk cannot read ({listed}). One of them may "
        "already be its invoice: confirm it is not before creating one."
    )


def _refusal(order: Order, action: str) -> str | None:
    if action == "invoice":
        if order.status != "paid":
            return f"Order {order.id} is {order.status_label or order.status}: only paid orders are invoiced."
        return None
    if order.status != "canceled":
        return f"Order {order.id} is not canceled: a credit note is only for canceled orders."
    if not order.is_invoiced:
        return f"Order {order.id} has no invoice standing: there is nothing to credit."
    return None


def refusal_for(
    record: Order | Invoice, action: str, *, credit_note_configured: bool = True
) -> str | None:
    """Why an action is not possible now (buttons' tooltips, the CLI's refusal), or None."""
    if isinstance(record, Order):
        if action not in ("invoice", "credit_note"):
            return "Jumpseller orders are invoiced, not marked; that is for Marketplacer invoices."
        if action == "invoice" and record.is_invoiced and record.invoice is not None:
            return f"Already invoiced: {record.invoice.public_id}."
        if action == "credit_note":
            if not record.is_invoiced and record.credit_note is not None and record.invoice is not None:
                return f"Credit note already issued: {record.credit_note.public_id}."
            refusal = _refusal(record, action)
            if refusal is None and not credit_note_configured:
                return "Credit note owed. " + credit_note_not_configured(record.account)
            return refusal
        return _refusal(record, action)
    if action in ("invoice", "credit_note"):
        return "Marketplacer invoices are made by the marketplace; only Jumpseller orders are invoiced here."
    return record.action_refusal(action.removeprefix("mark_"))
