"""One action over many records: what will be done, what is skipped and why, and how it went.

The window asks once before a bulk action ("Create 12 invoices for demo-store, total
CLP 1.234.567; 2 selected orders are skipped: 1302 (Tax ID missing), 1310 (already
invoiced)") and sums up at the end ("11 invoiced, 1 failed: 1305 (…)"). Both sentences are
built here, from plain records and the refusals the caller worked out with the same rules as
the buttons, so they can be checked without a window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from invoicedesk.action_table import ActionName
from invoicedesk.domain import Source, Summary
from invoicedesk.money import add, format_money
from invoicedesk.needs import INVOICE_REFUSED, label

# The actions that run over many records; Mark Sent asks for a tracking number per invoice.
BULK_ACTIONS: tuple[ActionName, ...] = (
    ActionName.INVOICE,
    ActionName.CREDIT_NOTE,
    ActionName.MARK_READY,
    ActionName.MARK_COLLECTED,
)

# How a sentence names the work: (verb, thing, things, after the count), and what "done" reads.
_WORK: dict[str, tuple[str, str, str, str]] = {
    ActionName.INVOICE: ("Create", "invoice", "invoices", ""),
    ActionName.CREDIT_NOTE: ("Create", "credit note", "credit notes", ""),
    ActionName.MARK_SENT: ("Mark", "invoice", "invoices", " sent"),
    ActionName.MARK_READY: ("Mark", "invoice", "invoices", " ready for collection"),
    ActionName.MARK_COLLECTED: ("Mark", "invoice", "invoices", " collected"),
}
_DONE: dict[str, str] = {
    ActionName.INVOICE: "invoiced",
    ActionName.CREDIT_NOTE: "credited",
    ActionName.MARK_SENT: "marked sent",
    ActionName.MARK_READY: "marked ready",
    ActionName.MARK_COLLECTED: "marked collected",
}
# Needs-action codes whose words already say why a record is skipped.
_SAID_BY_CODE = (*INVOICE_REFUSED, "check_documents", "outcome_unknown", "resume")
NAMED = 8  # records named one by one in a sentence; the rest are counted


@dataclass(frozen=True, slots=True)
class Skipped:
    summary: Summary
    reason: str  # short: "Tax ID missing", "already invoiced: INV-7"


@dataclass(frozen=True, slots=True)
class BulkPlan:
    """``action`` for each of ``todo``, in order; ``skipped`` are named in the question."""

    action: str
    todo: tuple[Summary, ...]
    skipped: tuple[Skipped, ...] = ()
    scope: str = "selected"  # how the question names the records: "selected", "pending"


@dataclass
class BulkResult:
    """How a bulk action went, record by record."""

    action: str
    total: int
    done: list[Summary] = field(default_factory=list)
    already: list[Summary] = field(default_factory=list)  # found done at the service: nothing sent
    failed: list[tuple[Summary, str]] = field(default_factory=list)
    unknown: list[tuple[Summary, str]] = field(default_factory=list)
    not_started: list[Summary] = field(default_factory=list)  # after Cancel
    cancelled: bool = False

    @property
    def finished(self) -> int:
        return len(self.done) + len(self.already) + len(self.failed) + len(self.unknown)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unknown or self.not_started)


def short_reason(summary: Summary, reason: str) -> str:
    """A refusal shortened to a few words for a list of skipped records."""
    if summary.needs_action in _SAID_BY_CODE:
        return label(summary.needs_action)
    text = reason.strip().split(". ")[0].rstrip(".")
    head, sep, tail = text.partition(":")
    if sep and len(head) <= 40:
        # "Already invoiced: INV-7" keeps the document; "Order 1 is X: only paid …" keeps X.
        text = f"{head}:{tail}" if head.lower().startswith("already") and len(tail) <= 30 else head
    noun = "Order" if summary.source is Source.JUMPSELLER else "Invoice"
    for prefix in (f"{noun} {summary.id} is ", f"{noun} {summary.id} "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def make_plan(
    action: str, candidates: Iterable[tuple[Summary, str | None]], *, scope: str = "selected"
) -> BulkPlan:
    """Split ``(record, refusal)`` pairs into the work and the skipped, keeping their order."""
    todo: list[Summary] = []
    skipped: list[Skipped] = []
    seen: set[tuple[str, str, str]] = set()
    for summary, refusal in candidates:
        key = (summary.source.value, summary.account, summary.id)
        if key in seen:
            continue
        seen.add(key)
        if refusal is None:
            todo.append(summary)
        else:
            skipped.append(Skipped(summary, short_reason(summary, refusal)))
    return BulkPlan(action, tuple(todo), tuple(skipped), scope)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _names(items: Sequence[tuple[str, str]]) -> str:
    """ "1302 (Tax ID missing), 1310 (already invoiced) and 3 more"."""
    shown = [f"{rid} ({why})" if why else rid for rid, why in items[:NAMED]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more else "")


def totals(summaries: Iterable[Summary], locale: str) -> str:
    """The records' totals per currency, as the list shows money: "CLP 1.234.567"."""
    sums: dict[str, Decimal] = {}
    for s in summaries:
        if s.total is not None:
            sums[s.currency] = add(sums.get(s.currency, Decimal(0)), s.total)
    parts = [format_money(amount, currency, locale) for currency, amount in sorted(sums.items())]
    return " and ".join(parts)


def _accounts(summaries: Sequence[Summary]) -> str:
    names = list(dict.fromkeys(s.account for s in summaries))
    if len(names) == 1:
        return names[0]
    return f"{len(names)} accounts ({', '.join(names[:NAMED])}{', …' if len(names) > NAMED else ''})"


def headline(plan: BulkPlan) -> str:
    """What the Go button says: "Create 12 invoices"."""
    verb, one, many, after = _WORK.get(plan.action, (plan.action, "record", "records", ""))
    return f"{verb} {_count(len(plan.todo), one, many)}{after}"


def _skipped_sentence(plan: BulkPlan) -> str:
    noun = "order" if all(s.summary.source is Source.JUMPSELLER for s in plan.skipped) else "invoice"
    if any(s.summary.source is not plan.skipped[0].summary.source for s in plan.skipped):
        noun = "record"
    n = len(plan.skipped)
    verb = "is" if n == 1 else "are"
    return (
        f"{_count(n, f'{plan.scope} {noun}', f'{plan.scope} {noun}s')} {verb} skipped: "
        + _names([(s.summary.id, s.reason) for s in plan.skipped])
    )


def confirmation_text(plan: BulkPlan, locale: str = "en_US") -> str:
    """The one question before a bulk action, or what is skipped when nothing is left to do."""
    if not plan.todo:
        return "Nothing to do: " + (_skipped_sentence(plan) if plan.skipped else "no record allows it") + "."
    text = f"{headline(plan)} for {_accounts(plan.todo)}"
    money = totals(plan.todo, locale)
    if money:
        text += f", total {money}"
    if plan.skipped:
        text += "; " + _skipped_sentence(plan)
    return text + "."


def result_text(result: BulkResult) -> str:
    """The summary at the end: "11 invoiced, 1 failed: 1305 (…)"."""
    parts = [f"{len(result.done):,} {_DONE.get(result.action, 'done')}"]
    if result.already:
        parts.append(f"{len(result.already):,} already done")
    if result.failed:
        parts.append(f"{len(result.failed):,} failed: " + _names([(s.id, why) for s, why in result.failed]))
    if result.unknown:
        parts.append(
            f"{len(result.unknown):,} with an unknown outcome (check them at the service): "
            + _names([(s.id, "") for s, _why in result.unknown])
        )
    if result.not_started:
        parts.append(f"{len(result.not_started):,} not started (cancelled)")
    return ("Stopped: " if result.cancelled else "") + "; ".join(parts) + "."


def question(action: str, summary: Summary, locale: str = "en_US") -> str:
    """The question before one action: "Create an invoice for order 1001 (Ana Pérez,
    CLP 12.990) at demo-store?"."""
    verb, one, _many, after = _WORK.get(action, (action, "record", "records", ""))
    noun = "order" if summary.source is Source.JUMPSELLER else "invoice"
    money = format_money(summary.total, summary.currency, locale)
    about = ", ".join(p for p in (summary.customer, money) if p)
    what = f"{noun} {summary.id}" + (f" ({about})" if about else "")
    if verb == "Create":
        article = "an" if one[:1] in "aeiou" else "a"
        return f"Create {article} {one} for {what} at {summary.account}?"
    return f"{verb} {what}{after} at {summary.account}?"
