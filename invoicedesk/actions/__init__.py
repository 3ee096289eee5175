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

from invoicedesk.actions.core import Actions
from invoicedesk.actions.outcomes import (
    ActionOutcome,
    ActionRefusedError,
    ConfirmationNeededError,
    credit_note_not_configured,
    outcome_state,
    refusal_for,
    unreadable_documents_text,
)

__all__ = [
    "ActionOutcome",
    "ActionRefusedError",
    "Actions",
    "ConfirmationNeededError",
    "credit_note_not_configured",
    "outcome_state",
    "refusal_for",
    "unreadable_documents_text",
]
