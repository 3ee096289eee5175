"""The one table of actions: their names, words, icons and what they apply to.

Everything that shows or decides an action (the toolbar, the detail pane, needs-action, the
controller, ``actions.py`` and the command line) reads it from here, so a label or a rule is
written once. ``ActionName`` and ``JournalState`` are ``StrEnum``: they are stored in the
cache as their plain string values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from invoicedesk.domain import Source


class ActionName(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    MARK_SENT = "mark_sent"
    MARK_READY = "mark_ready"
    MARK_COLLECTED = "mark_collected"
    CHECK = "check"  # look at the service for what an action of unknown outcome did


class JournalState(StrEnum):
    """Where an action stands in the journal."""

    PENDING = "pending"  # claimed; the request may be on its way
    INVOICED = "invoiced"  # the invoicing service made it; not yet attached to the order
    DONE = "done"
    FAILED = "failed"  # nothing was done at the service; the record is owed the action again
    UNKNOWN = "unknown"  # the request may have reached the service; no usable answer came back

    @property
    def is_open(self) -> bool:
        return self not in (JournalState.DONE, JournalState.FAILED)


STATE_LABELS: dict[str, str] = {
    JournalState.PENDING: "In progress",
    JournalState.INVOICED: "Invoiced, not yet attached",
    JournalState.DONE: "Done",
    JournalState.FAILED: "Failed",
    JournalState.UNKNOWN: "Outcome unknown",
}


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: ActionName
    button: str  # the toolbar text
    words: str  # how messages name it ("Create Invoice for order 1001 …")
    lower: str  # in a sentence, and in the record's history ("Create invoice")
    tip: str  # the toolbar tooltip when it is possible
    icon: str
    object_name: str
    source: Source | None  # the records it applies to (None: either)
    target_states: tuple[str, ...] = ()  # Marketplacer: the invoice's state once it was applied
    done_word: str = ""  # "marked <done_word>"


ACTIONS: dict[ActionName, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            ActionName.INVOICE,
            "Create Invoice",
            "Create Invoice",
            "Create invoice",
            "Create the invoice for the selected order and attach it (Ctrl+I)",
            "invoice",
            "createInvoiceAction",
            Source.JUMPSELLER,
        ),
        ActionSpec(
            ActionName.CREDIT_NOTE,
            "Credit Note",
            "Credit Note",
            "Create credit note",
            "Issue a credit note for the selected cancelled order and attach it",
            "credit_note",
            "creditNoteAction",
            Source.JUMPSELLER,
        ),
        ActionSpec(
            ActionName.MARK_SENT,
            "Mark Sent",
            "Mark Sent",
            "Mark sent",
            "Mark the selected Buy Online invoice sent, with tracking number and carrier",
            "sent",
            "markSentAction",
            Source.MARKETPLACER,
            ("sent",),
            "sent",
        ),
        ActionSpec(
            ActionName.MARK_READY,
            "Mark Ready",
            "Mark Ready",
            "Mark ready",
            "Mark the selected Click and Collect invoice ready for collection",
            "ready",
            "markReadyAction",
            Source.MARKETPLACER,
            ("ready", "collected"),
            "ready for collection",
        ),
        ActionSpec(
            ActionName.MARK_COLLECTED,
            "Mark Collected",
            "Mark Collected",
            "Mark collected",
            "Mark the selected Click and Collect invoice collected by the customer",
            "collected",
            "markCollectedAction",
            Source.MARKETPLACER,
            ("collected",),
            "collected",
        ),
        ActionSpec(
            ActionName.CHECK,
            "Check at the service",
            "Check at the service",
            "Check at the service",
            "The last action on this record got no answer: look at the service for what it did, "
            "and take a document found there as the result",
            "sync",
            "checkAction",
            None,
        ),
    )
}

# The actions that change something at a service, in toolbar order.
CHANGING: tuple[ActionName, ...] = (
    ActionName.INVOICE,
    ActionName.CREDIT_NOTE,
    ActionName.MARK_SENT,
    ActionName.MARK_READY,
    ActionName.MARK_COLLECTED,
)


def spec(name: str) -> ActionSpec:
    return ACTIONS[ActionName(name)]


def words(name: str) -> str:
    """How messages name an action; the raw name for one this table does not know."""
    try:
        return spec(name).words
    except ValueError:
        return name
