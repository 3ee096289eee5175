"""What the cache hands out (list rows, sync state, journal entries, the list's query) and the
conversions between Python values and the text SQLite stores (times as UTC ISO strings, money
as decimal text, documents as JSON)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicedesk.domain import Document, Summary
from invoicedesk.needs import LABELS as NEEDS_LABELS


def _needs_order() -> str:
    """What a record needs, as the words staff read (case-insensitive); nothing owed sorts last.

    The list sorts on this expression and an index is built on it, so a page of the list sorted
    by "Needs action" reads the index instead of sorting every record. SQLite uses an expression
    index only for the very same expression: changing the words needs a migration that builds
    the index again (a test checks that the list's query still reads it).
    """
    cases = " ".join(
        f"WHEN '{code}' THEN '{words.lower().replace(chr(39), chr(39) * 2)}'"
        for code, words in sorted(NEEDS_LABELS.items())
    )
    return f"(CASE needs_action WHEN '' THEN '~' {cases} ELSE lower(needs_action) END)"


NEEDS_ORDER = _needs_order()

# Columns the list can sort on, mapped to the SQL terms of its ORDER BY (never user text in
# SQL). Each sort has an index in the schema that lists the same terms, then the rowid (the
# tie-break), so a page is read from the index in order. Totals sort within their currency.
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "source": ("source",),
    "account": ("account COLLATE NOCASE",),
    "id": ("id_sort",),
    "date": ("date",),
    "customer": ("customer COLLATE NOCASE",),
    "email": ("email COLLATE NOCASE",),
    "total": ("currency", "total_sort"),
    "status": ("status",),
    "delivery_type": ("delivery_type",),
    "invoice": ("invoice_public_id",),
    "needs_action": (NEEDS_ORDER,),
}


@dataclass(frozen=True, slots=True)
class Query:
    """What the list shows; every field narrows it. Built by the filter bar and the CLI."""

    source: str | None = None
    account: str | None = None
    status: str | None = None
    needs_action: bool = False
    search: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    # Only records waiting for one of these (need codes of ``invoicedesk.needs``): the views.
    needs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the combined list, straight from the indexed columns."""

    rowid: int
    summary: Summary


@dataclass(frozen=True, slots=True)
class SyncState:
    account: str
    source: str
    cursor: str | None = None
    last_order_id: int | None = None
    last_synced_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    source: str
    account: str
    record_id: str
    action: str
    state: str
    step: str
    request: dict[str, Any]
    result: dict[str, Any]
    message: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Connection:
    db: sqlite3.Connection
    lock: threading.RLock = field(default_factory=threading.RLock)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    if text.endswith("Z"):
        # What ``iso`` writes; ``fromisoformat`` reads it ~40x faster than ``strptime`` (the list
        # reads a date for every row it shows).
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def documents_from_json(text: str | None) -> tuple[Document, ...]:
    if not text:
        return ()
    docs = []
    for d in json.loads(text):
        docs.append(
            Document(
                public_id=str(d.get("public_id", "")),
                external_id=str(d.get("external_id", "")),
                url=str(d.get("url", "")),
                document_type=int(d.get("document_type", 1)),
                created_at=from_iso(d.get("created_at")),
                app_code=str(d.get("app_code", "")),
                type_text=str(d.get("type_text", "")),
            )
        )
    return tuple(docs)


def documents_json(documents: Sequence[Document]) -> str:
    return json.dumps(
        [
            {
                "document_type": d.document_type,
                "public_id": d.public_id,
                "external_id": d.external_id,
                "url": d.url,
                "created_at": iso(d.created_at),
                "app_code": d.app_code,
                "type_text": d.type_text,
            }
            for d in documents
        ],
        separators=(",", ":"),
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def decimal_or_none(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def id_sort(record_id: str) -> int | None:
    try:
        return int(record_id)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A record as the cache stores it: enough for another desk to rebuild it (team mode)."""

    source: str
    account: str
    record_id: str
    raw: str
    documents: str | None
    currency: str
