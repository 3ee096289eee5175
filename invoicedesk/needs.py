"""What each record is waiting for: the "needs action" column and filter.

Stored as a short code (stable for the command line's JSON and for filters); ``label()`` gives
the words staff read. The list and the buttons read the same rules: an order that
:func:`invoice_refusal` refuses shows the reason here ("Tax ID missing"), never "Create
invoice", and the window's Create Invoice is off with the same reason as its tooltip.
"""

from __future__ import annotations

from invoicedesk.action_table import ACTIONS, ActionName
from invoicedesk.domain import Invoice, Order
from invoicedesk.rules import invoice_blocker

LABELS: dict[str, str] = {
    "invoice": "Create invoice",
    "check_documents": "Check attached documents",
    "not_checked": "Invoice not checked yet",
    "tax_id_missing": "Tax ID missing",
    "check_amounts": "Amounts don't add up",
    "credit_note": "Credit note owed",
    "mark_sent": ACTIONS[ActionName.MARK_SENT].lower,
    "mark_ready": ACTIONS[ActionName.MARK_READY].lower,
    "mark_collected": ACTIONS[ActionName.MARK_COLLECTED].lower,
    "outcome_unknown": "Outcome unknown: check, then retry",
    "resume": "Unfinished: resumes on next sync",
}

# While a sync runs, an order whose documents are not read yet is being looked at right now.
CHECKING = "Checking…"

# The codes of orders that wait for an invoice InvoiceDesk may create now (documents not read
# yet are read right before acting: the claim decides).
INVOICE_OWED: tuple[str, ...] = ("invoice", "not_checked")

# The codes of paid orders without an invoice that the rules refuse to invoice as they are.
INVOICE_REFUSED: tuple[str, ...] = ("tax_id_missing", "check_amounts")


def label(code: str, *, syncing: bool = False) -> str:
    if code == "not_checked" and syncing:
        return CHECKING
    return LABELS.get(code, code)


def business_name(order: Order) -> str:
    """The company the order is billed to, as the invoicing service reads it (the billing
    information's company name, or a company in the billing address); "" for a person."""
    return order.customer.company_name.strip() or order.billing_address.company.strip()


def invoice_refusal(order: Order) -> tuple[str, str] | None:
    """Why the rules refuse to invoice ``order`` as it is: ``(code, sentence)``, or ``None``.

    The invoicing service refuses a business without a tax ID; :func:`rules.invoice_blocker`
    refuses an order whose money cannot be used or does not add up. Both are known before
    anything is sent, so the list says so and Create Invoice is off with the sentence.
    """
    company = business_name(order)
    if company and not order.customer.tax_id.strip():
        return (
            "tax_id_missing",
            f"Tax ID missing: order {order.id} is billed to a business ({company}) and the "
            "invoicing service refuses to invoice a business without a tax ID. Add it to the "
            "order's billing address in Jumpseller, then sync.",
        )
    blocker = invoice_blocker(order)
    if blocker:
        return "check_amounts", blocker
    return None


def needs_action(
    record: Order | Invoice, open_action: str | None = None, *, documents_known: bool = True
) -> str:
    """The code of the next step for this record, or "" when nothing is owed.

    ``open_action`` is ``"<action>:<state>"`` of an unfinished journal entry for the record:
    an action whose outcome is unknown outranks everything (staff must look before retrying).
    """
    if open_action:
        _action, _, state = open_action.partition(":")
        return "outcome_unknown" if state == "unknown" else "resume"
    if isinstance(record, Order):
        if record.status == "paid" and not record.is_invoiced and not documents_known:
            return "not_checked"  # its documents were not read yet: it may well have an invoice
        if record.status == "paid" and not record.is_invoiced:
            # A document whose type can't be read may be an invoice: staff look first.
            if record.unreadable_documents:
                return "check_documents"
            refused = invoice_refusal(record)
            return refused[0] if refused else "invoice"
        if record.status == "canceled" and record.is_invoiced:
            return "credit_note"
        return ""
    if record.can_mark_sent:
        return "mark_sent"
    if record.can_mark_ready:
        return "mark_ready"
    if record.can_mark_collected:
        return "mark_collected"
    return ""
