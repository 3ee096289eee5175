"""What a claim counts before an invoice or credit note may be asked for: one rule, two stores.

The local cache (one desk) and the team database (several desks) both decide "may this order
be invoiced now" inside one write transaction; this is the part of that decision that does
not depend on where the journal lives. Counts of invoices and credit notes only grow, so the
largest of what the journal, the stored documents and the caller's fresh read say is the newest
truth: an invoice stands while invoices outnumber credit notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from invoicedesk.domain import Document
from invoicedesk.errors import InvoiceDeskError


class AlreadyDoneError(InvoiceDeskError):
    """What the action would make exists already (journal or documents); nothing was sent."""

    def __init__(
        self, action: str, record_id: str, public_id: str = "", *, nothing_owed: bool = False
    ) -> None:
        self.action = action
        self.record_id = record_id
        self.public_id = public_id
        self.nothing_owed = nothing_owed
        ref = f" {public_id}" if public_id else ""
        if action == "invoice":
            text = f"Order {record_id} already has invoice{ref}; nothing was sent."
        elif nothing_owed:
            text = f"Order {record_id} has no invoice to credit; nothing was sent."
        else:
            text = f"Order {record_id} already has credit note{ref}; nothing was sent."
        super().__init__(text)


def counts(docs: Sequence[Document]) -> tuple[int, int]:
    """(invoices, credit notes) among ``docs``."""
    return sum(d.is_invoice for d in docs), sum(d.is_credit_note for d in docs)


def check_balance(
    action: str,
    record_id: str,
    *,
    made: Mapping[str, int],
    fresh: Sequence[Document] | None,
    stored: Sequence[Document],
    last_public_id: str = "",
) -> None:
    """Raise ``AlreadyDoneError`` when ``action`` would make a second invoice (or a credit note
    with nothing to credit). ``made``: finished journal entries per action for the record."""
    fresh_counts = counts(fresh) if fresh is not None else (0, 0)
    stored_counts = counts(stored)
    invoices = max(made.get("invoice", 0), fresh_counts[0], stored_counts[0])
    credits = max(made.get("credit_note", 0), fresh_counts[1], stored_counts[1])
    public_id = last_public_id
    if not public_id:
        wanted = "is_invoice" if action == "invoice" else "is_credit_note"
        known = [d for d in (fresh or stored) if getattr(d, wanted)]
        public_id = known[-1].public_id if known else ""
    if action == "invoice" and invoices > credits:
        raise AlreadyDoneError(action, record_id, public_id)
    if action == "credit_note" and credits >= invoices:
        raise AlreadyDoneError(action, record_id, public_id, nothing_owed=invoices == 0)
