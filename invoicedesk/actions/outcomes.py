"""How actions end and why they may not start: outcomes, refusals and the error-to-state rule."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, TypeVar

from invoicedesk.action_table import spec
from invoicedesk.domain import Invoice, Order
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
    UnavailableError,
)
from invoicedesk.money import AmountNotExactError

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
        return f"Order {order.id} is not cancelled: a credit note is only for cancelled orders."
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

