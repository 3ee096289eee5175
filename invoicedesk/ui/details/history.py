"""What the detail pane shows of the actions InvoiceDesk took on a record, as plain data (no Qt).

An action whose answer never came (state ``unknown``) must be impossible to miss: it gets a
banner above the history saying what to do, and its row stands out (see :class:`Mark`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from invoicedesk.action_table import ACTIONS, STATE_LABELS
from invoicedesk.cache import JournalEntry
from invoicedesk.ui.details.markup import Mark, Row, cell, esc, when, when_html

ACTION_LABELS: dict[str, str] = {str(name): spec.lower for name, spec in ACTIONS.items()}


@dataclass(frozen=True, slots=True)
class HistoryView:
    """The history section: ``banner`` is empty when no outcome is unknown."""

    title: str
    banner: str
    rows: tuple[Row, ...]


def unknown_outcome_advice(entry: JournalEntry) -> str:
    """What staff should do about an action whose answer never came, as one or two sentences."""
    rid = entry.record_id
    if entry.action in ("invoice", "credit_note"):
        what = "an invoice" if entry.action == "invoice" else "a credit note"
        return (
            f"The invoicing service may or may not have issued {what} for order {rid}. "
            f"Use Check at the service: it re-reads the order's documents in Jumpseller and takes "
            f"one found there as the result. If none shows, look in the invoicing service too; "
            f"Retry only if there is none there either (InvoiceDesk asks you to confirm first)."
        )
    done = {"mark_sent": "sent", "mark_ready": "ready", "mark_collected": "collected"}.get(
        entry.action, "changed"
    )
    return (
        f"Marketplacer may or may not have recorded invoice {rid} as {done}. Use Check at the "
        f"service: it reads the invoice's state and settles the outcome either way."
    )


def unknown_banner_html(entries: Sequence[JournalEntry]) -> str:
    """One paragraph per action whose outcome is unknown, in the order given; "" for none."""
    return "".join(
        f"<p><b>Outcome unknown: {esc(ACTION_LABELS.get(e.action, e.action))}</b> "
        f"({when_html(e.created_at)}). {esc(unknown_outcome_advice(e))}</p>"
        for e in entries
        if e.state == "unknown"
    )


def history_row(e: JournalEntry) -> Row:
    """When, which action, and its outcome with the service's message."""
    state = STATE_LABELS.get(e.state, e.state)
    message = e.message
    if e.state == "unknown":
        state = "⚠ " + state
        if message and message[-1] not in ".!?":
            message += "."
        message = (message + " " if message else "") + "Check before retrying (see above)."
    # State and message share a column so the message gets the width in a narrow pane.
    outcome = f"{state}\n{message}" if message else state
    action = ACTION_LABELS.get(e.action, e.action.replace("_", " ").capitalize())
    if e.state == "unknown":
        advice = unknown_outcome_advice(e)
        return tuple(
            cell(text, tip=advice, mark=Mark.UNKNOWN)
            for text in (when(e.updated_at or e.created_at), action, outcome)
        )
    failed = Mark.FAILED if e.state == "failed" else None
    return (cell(when(e.updated_at or e.created_at)), cell(action), cell(outcome, mark=failed))


def history_view(entries: Sequence[JournalEntry]) -> HistoryView:
    """The journal entries of one record, newest first."""
    newest_first = sorted(entries, key=lambda e: (e.created_at, e.id), reverse=True)
    rows = tuple(history_row(e) for e in newest_first)
    return HistoryView(
        title=f"Action history ({len(rows)})" if rows else "Action history",
        banner=unknown_banner_html(newest_first),
        rows=rows,
    )
