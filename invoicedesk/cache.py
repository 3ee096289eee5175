"""The local cache: one SQLite file that lets staff review every order and invoice offline.

Each record is stored twice over: the columns the combined list shows, filters and sorts on
(indexed), and the raw payload exactly as the service sent it, so nothing is ever lost and a
record can be re-parsed by a newer InvoiceDesk. Reading never needs the network.

Design points:
- WAL mode, foreign keys on, schema versioned with ``PRAGMA user_version`` migrations.
- Writes are one transaction per page of records: a crash mid-sync leaves whole pages.
- The list never loads the world: filtering, sorting and paging happen in SQL
  (``fetch(query, sort, offset, limit)``), so the first screenful costs the same at 1,000
  and at 100,000 records.
- Search is a substring match over id, customer, email, SKUs and tracking numbers, served by
  an FTS5 trigram index when SQLite has one (3.34+), else by ``LIKE``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from invoicedesk.domain import (
    Document,
    Invoice,
    Order,
    Source,
    Summary,
    parse_invoice_document,
    parse_order,
)
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.needs import needs_action

CACHE_FILE = "cache.sqlite3"


class CacheError(InvoiceDeskError):
    """The cache file cannot be opened or is damaged."""


# Columns the list can sort on, mapped to SQL expressions (never user text in SQL).
SORT_COLUMNS: dict[str, str] = {
    "source": "source",
    "account": "account",
    "id": "id_sort",
    "date": "date",
    "customer": "customer COLLATE NOCASE",
    "email": "email COLLATE NOCASE",
    "total": "total_sort",
    "status": "status",
    "delivery_type": "delivery_type",
    "invoice": "invoice_public_id",
    "needs_action": "needs_action",
}

_MIGRATIONS: list[str] = [
    # 1: records, sync state and the action journal
    """
    CREATE TABLE records (
        rowid INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        account TEXT NOT NULL,
        record_id TEXT NOT NULL,
        id_sort INTEGER,
        date TEXT,
        customer TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        total TEXT,
        total_sort REAL,
        currency TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT '',
        status_label TEXT NOT NULL DEFAULT '',
        delivery_type TEXT NOT NULL DEFAULT '',
        invoice_public_id TEXT NOT NULL DEFAULT '',
        invoice_url TEXT NOT NULL DEFAULT '',
        needs_action TEXT NOT NULL DEFAULT '',
        search_text TEXT NOT NULL DEFAULT '',
        problems INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT,
        raw TEXT NOT NULL,
        documents TEXT,
        synced_at TEXT NOT NULL,
        UNIQUE (source, account, record_id)
    );
    CREATE INDEX records_date ON records (date DESC, rowid DESC);
    CREATE INDEX records_status ON records (status, date DESC);
    CREATE INDEX records_needs ON records (needs_action, date DESC);
    CREATE INDEX records_account ON records (account, date DESC);
    CREATE INDEX records_customer ON records (customer COLLATE NOCASE);
    CREATE INDEX records_total ON records (total_sort);
    CREATE INDEX records_id ON records (id_sort);

    CREATE TABLE sync_state (
        account TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        cursor TEXT,
        last_order_id INTEGER,
        last_synced_at TEXT,
        last_error TEXT
    );

    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        account TEXT NOT NULL,
        record_id TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        step TEXT NOT NULL DEFAULT '',
        request TEXT NOT NULL DEFAULT '{}',
        result TEXT NOT NULL DEFAULT '{}',
        message TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX journal_record ON journal (source, account, record_id, id);
    CREATE INDEX journal_open ON journal (state) WHERE state NOT IN ('done', 'failed');
    """,
]

_FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
    search_text, content='records', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS records_ai AFTER INSERT ON records BEGIN
    INSERT INTO records_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER IF NOT EXISTS records_ad AFTER DELETE ON records BEGIN
    INSERT INTO records_fts(records_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER IF NOT EXISTS records_au AFTER UPDATE OF search_text ON records BEGIN
    INSERT INTO records_fts(records_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO records_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
"""


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


class JournalBusyError(InvoiceDeskError):
    """Another action on the same record is still open."""

    def __init__(self, entry: JournalEntry) -> None:
        self.entry = entry
        what = entry.action.replace("_", " ")
        if entry.state == "unknown":
            text = (
                f"The last '{what}' on {entry.record_id} has an unknown outcome: check it at the "
                "service, then retry with explicit confirmation."
            )
        else:
            text = f"A '{what}' on {entry.record_id} is already under way or was interrupted ({entry.state})."
        super().__init__(text)


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
class _Conn:
    db: sqlite3.Connection
    lock: threading.RLock = field(default_factory=threading.RLock)


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _documents(text: str | None) -> tuple[Document, ...]:
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
                created_at=_from_iso(d.get("created_at")),
                app_code=str(d.get("app_code", "")),
                type_text=str(d.get("type_text", "")),
            )
        )
    return tuple(docs)


def _documents_json(documents: Sequence[Document]) -> str:
    return json.dumps(
        [
            {
                "document_type": d.document_type,
                "public_id": d.public_id,
                "external_id": d.external_id,
                "url": d.url,
                "created_at": _iso(d.created_at),
                "app_code": d.app_code,
                "type_text": d.type_text,
            }
            for d in documents
        ],
        separators=(",", ":"),
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def _dec(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _id_sort(record_id: str) -> int | None:
    try:
        return int(record_id)
    except ValueError:
        return None


class Cache:
    """The cache file. Safe to share between the GUI thread and an executor thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"Cannot open the cache {path}: {exc}") from None
        self._c = _Conn(db)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
            self.has_fts = self._try_fts()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise CacheError(
                f"The cache {path} is damaged ({exc}). Move it away and sync again to rebuild it."
            ) from None

    @classmethod
    def open(cls, data_dir: Path) -> Cache:
        return cls(data_dir / CACHE_FILE)

    # ------------------------------------------------------------------ plumbing

    def _migrate(self) -> None:
        db = self._c.db
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > len(_MIGRATIONS):
            raise CacheError(
                f"The cache {self.path} was written by a newer InvoiceDesk (schema {version}); "
                "update InvoiceDesk or move the file away."
            )
        for number in range(version, len(_MIGRATIONS)):
            # One script per migration: schema and version change commit together or not at all.
            with self._c.lock:
                db.executescript(
                    f"BEGIN IMMEDIATE; {_MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
                )

    def _try_fts(self) -> bool:
        db = self._c.db
        try:
            with self._c.lock:
                exists = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'records_fts'").fetchone()
                rebuild = "" if exists else "INSERT INTO records_fts(records_fts) VALUES ('rebuild');"
                db.executescript(f"BEGIN IMMEDIATE; {_FTS} {rebuild} COMMIT;")
            return True
        except sqlite3.OperationalError:
            if db.in_transaction:
                db.execute("ROLLBACK")
            return False

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._c.lock:
            db = self._c.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._c.lock:
            return self._c.db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._c.lock:
            self._c.db.close()

    def integrity_check(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])

    # ------------------------------------------------------------------ writing records

    def _journal_flags(
        self, db: sqlite3.Connection, source: str, account: str, ids: Iterable[str]
    ) -> dict[str, str]:
        """Open journal states per record (an action in flight or of unknown outcome)."""
        ids = list(ids)
        if not ids:
            return {}
        out: dict[str, str] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT record_id, action, state FROM journal WHERE source=? AND account=? "  # noqa: S608
                f"AND record_id IN ({marks}) AND state NOT IN ('done', 'failed') ORDER BY id",
                (source, account, *chunk),
            ).fetchall()
            for record_id, action, state in rows:
                out[record_id] = f"{action}:{state}"
        return out

    def _row_values(
        self,
        record: Order | Invoice,
        summary: Summary,
        open_action: str | None,
        synced: str,
        docs_known: bool,
    ) -> tuple[Any, ...]:
        documents: str | None = None
        if isinstance(record, Order) and (docs_known or record.documents):
            documents = _documents_json(record.documents)
        raw = record.raw
        total = summary.total
        return (
            summary.source.value,
            summary.account,
            summary.id,
            _id_sort(summary.id),
            _iso(summary.date),
            summary.customer,
            summary.email,
            None if total is None else str(total),
            None if total is None else float(total),
            summary.currency,
            summary.status,
            summary.status_label,
            summary.delivery_type,
            summary.invoice_public_id,
            summary.invoice_url,
            needs_action(record, open_action),
            summary.search_text,
            summary.problems_count,
            _iso(getattr(record, "updated_at", None)),
            json.dumps(raw, separators=(",", ":"), ensure_ascii=False),
            documents,
            synced,
        )

    _UPSERT = """
        INSERT INTO records (source, account, record_id, id_sort, date, customer, email, total,
            total_sort, currency, status, status_label, delivery_type, invoice_public_id,
            invoice_url, needs_action, search_text, problems, updated_at, raw, documents, synced_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source, account, record_id) DO UPDATE SET
            id_sort=excluded.id_sort, date=excluded.date, customer=excluded.customer,
            email=excluded.email, total=excluded.total, total_sort=excluded.total_sort,
            currency=excluded.currency, status=excluded.status, status_label=excluded.status_label,
            delivery_type=excluded.delivery_type, invoice_public_id=excluded.invoice_public_id,
            invoice_url=excluded.invoice_url, needs_action=excluded.needs_action,
            search_text=excluded.search_text, problems=excluded.problems,
            updated_at=excluded.updated_at, raw=excluded.raw,
            documents=COALESCE(excluded.documents, records.documents),
            synced_at=excluded.synced_at
    """

    def upsert(
        self,
        records: Sequence[Order | Invoice],
        *,
        state: SyncState | None = None,
        documents_known: bool = False,
    ) -> int:
        """Store a page of records (and optionally the sync cursor) in ONE transaction.

        Orders fetched from the list endpoints carry no documents; unless ``documents_known``,
        the documents already in the cache are kept and used for the order's invoice columns.
        """
        if not records and state is None:
            return 0
        synced = _iso(now_utc())
        assert synced is not None
        with self._tx() as db:
            self._upsert_in_tx(db, records, documents_known, synced)
            if state is not None:
                self._put_state(db, state)
        return len(records)

    def _upsert_in_tx(
        self, db: sqlite3.Connection, records: Sequence[Order | Invoice], documents_known: bool, synced: str
    ) -> None:
        records = self._with_known_documents(db, records) if not documents_known else records
        summaries = [r.summary() for r in records]
        by_key: dict[tuple[str, str], list[str]] = {}
        for s in summaries:
            by_key.setdefault((s.source.value, s.account), []).append(s.id)
        flags: dict[tuple[str, str, str], str] = {}
        for (src, acc), ids in by_key.items():
            for rid, flag in self._journal_flags(db, src, acc, ids).items():
                flags[(src, acc, rid)] = flag
        db.executemany(
            self._UPSERT,
            [
                self._row_values(r, s, flags.get((s.source.value, s.account, s.id)), synced, documents_known)
                for r, s in zip(records, summaries, strict=True)
            ],
        )

    def _with_known_documents(
        self, db: sqlite3.Connection, records: Sequence[Order | Invoice]
    ) -> list[Order | Invoice]:
        orders = [r for r in records if isinstance(r, Order) and not r.documents]
        if not orders:
            return list(records)
        known: dict[tuple[str, str], tuple[Document, ...]] = {}
        by_account: dict[str, list[str]] = {}
        for o in orders:
            by_account.setdefault(o.account, []).append(str(o.id))
        for account, ids in by_account.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = db.execute(
                    "SELECT record_id, documents FROM records WHERE source='jumpseller' AND account=? "  # noqa: S608
                    f"AND documents IS NOT NULL AND record_id IN ({','.join('?' * len(chunk))})",
                    (account, *chunk),
                ).fetchall()
                for rid, docs in rows:
                    known[(account, rid)] = _documents(docs)
        out: list[Order | Invoice] = []
        for r in records:
            docs = known.get((r.account, str(r.id))) if isinstance(r, Order) else None
            out.append(replace(r, documents=docs) if docs and isinstance(r, Order) else r)
        return out

    def set_documents(self, account: str, order_id: str, documents: Sequence[Document]) -> None:
        """Replace an order's documents (after an attach, or a documents check) and refresh it."""
        self.set_documents_many(account, [(order_id, documents)])

    def set_documents_many(self, account: str, items: Sequence[tuple[str, Sequence[Document]]]) -> None:
        """Documents of many orders in one transaction (the sync's documents checks, batched)."""
        synced = _iso(now_utc())
        assert synced is not None
        with self._tx() as db:
            orders: list[Order | Invoice] = []
            for order_id, documents in items:
                row = db.execute(
                    "SELECT raw, documents, currency FROM records WHERE source='jumpseller' AND account=? "
                    "AND record_id=?",
                    (account, str(order_id)),
                ).fetchone()
                if row is None:
                    continue
                order = self._parse_row(Source.JUMPSELLER.value, account, *row)
                if isinstance(order, Order):
                    orders.append(replace(order, documents=tuple(documents)))
            self._upsert_in_tx(db, orders, True, synced)

    def refresh_needs(self, source: str, account: str, record_id: str) -> None:
        record = self.get(source, account, record_id)
        if record is not None:
            self.upsert([record])

    # ------------------------------------------------------------------ reading records

    def _where(self, q: Query) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if q.source:
            clauses.append("source = ?")
            params.append(q.source)
        if q.account:
            clauses.append("account = ?")
            params.append(q.account)
        if q.status:
            clauses.append("status = ?")
            params.append(q.status)
        if q.needs_action:
            clauses.append("needs_action != ''")
        if q.date_from:
            clauses.append("date >= ?")
            params.append(_iso(q.date_from))
        if q.date_to:
            clauses.append("date < ?")
            params.append(_iso(q.date_to))
        text = q.search.strip().lower()
        if text:
            for word in text.split():
                if self.has_fts and len(word) >= 3:
                    phrase = '"' + word.replace('"', '""') + '"'
                    clauses.append("+rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)")
                    params.append(phrase)
                else:
                    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    clauses.append("search_text LIKE ? ESCAPE '\\'")
                    params.append(f"%{escaped}%")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    _ROW_COLS = (
        "rowid, source, account, record_id, date, customer, email, total, currency, status, "
        "status_label, delivery_type, invoice_public_id, invoice_url, needs_action, "
        "search_text, problems"
    )

    @staticmethod
    def _row(t: tuple[Any, ...]) -> Row:
        return Row(
            t[0],
            Summary(
                source=Source(t[1]),
                account=t[2],
                id=t[3],
                date=_from_iso(t[4]),
                customer=t[5],
                email=t[6],
                total=_dec(t[7]),
                currency=t[8],
                status=t[9],
                status_label=t[10],
                delivery_type=t[11],
                invoice_public_id=t[12],
                invoice_url=t[13],
                needs_action=t[14],
                search_text=t[15],
                problems_count=t[16],
            ),
        )

    def fetch(
        self,
        query: Query = Query(),
        *,
        sort: str = "date",
        descending: bool = True,
        offset: int = 0,
        limit: int = 200,
    ) -> list[Row]:
        """One page of the list, filtered and sorted in SQL."""
        expr = SORT_COLUMNS.get(sort)
        if expr is None:
            raise ValueError(f"cannot sort on {sort!r}")
        direction = "DESC" if descending else "ASC"
        where, params = self._where(query)
        sql = (
            f"SELECT {self._ROW_COLS} FROM records{where} "  # noqa: S608 (fixed expressions only)
            f"ORDER BY {expr} {direction}, rowid {direction} LIMIT ? OFFSET ?"
        )
        return [self._row(t) for t in self._read(sql, [*params, limit, offset])]

    def count(self, query: Query = Query()) -> int:
        where, params = self._where(query)
        return int(self._read(f"SELECT count(*) FROM records{where}", params)[0][0])  # noqa: S608

    def row(self, rowid: int) -> Row | None:
        rows = self._read(f"SELECT {self._ROW_COLS} FROM records WHERE rowid = ?", [rowid])  # noqa: S608
        return self._row(rows[0]) if rows else None

    def find_rowid(self, source: str, account: str, record_id: str) -> int | None:
        rows = self._read(
            "SELECT rowid FROM records WHERE source=? AND account=? AND record_id=?",
            [source, account, record_id],
        )
        return int(rows[0][0]) if rows else None

    def get(self, source: str, account: str, record_id: str) -> Order | Invoice | None:
        """The full record, re-parsed from the raw payload the service sent."""
        rows = self._read(
            "SELECT raw, documents, currency FROM records WHERE source=? AND account=? AND record_id=?",
            [source, account, record_id],
        )
        if not rows:
            return None
        return self._parse_row(source, account, *rows[0])

    def get_order(self, account: str, order_id: str) -> Order | None:
        rec = self.get(Source.JUMPSELLER.value, account, str(order_id))
        return rec if isinstance(rec, Order) else None

    def get_invoice(self, account: str, invoice_id: str) -> Invoice | None:
        rec = self.get(Source.MARKETPLACER.value, account, str(invoice_id))
        return rec if isinstance(rec, Invoice) else None

    def record_ids(self, source: str, account: str, *, statuses: Sequence[str] = ()) -> list[str]:
        sql = "SELECT record_id FROM records WHERE source=? AND account=?"
        params: list[Any] = [source, account]
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params += list(statuses)
        return [r[0] for r in self._read(sql, params)]

    def iter_all(
        self, query: Query = Query(), *, sort: str = "date", descending: bool = True, batch: int = 1000
    ) -> Iterator[Row]:
        offset = 0
        while True:
            rows = self.fetch(query, sort=sort, descending=descending, offset=offset, limit=batch)
            yield from rows
            if len(rows) < batch:
                return
            offset += batch

    # ------------------------------------------------------------------ sync state

    def _put_state(self, db: sqlite3.Connection, s: SyncState) -> None:
        db.execute(
            "INSERT INTO sync_state (account, source, cursor, last_order_id, last_synced_at, last_error) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET source=excluded.source, "
            "cursor=excluded.cursor, last_order_id=excluded.last_order_id, "
            "last_synced_at=excluded.last_synced_at, last_error=excluded.last_error",
            (s.account, s.source, s.cursor, s.last_order_id, _iso(s.last_synced_at), s.last_error),
        )

    def put_sync_state(self, state: SyncState) -> None:
        with self._tx() as db:
            self._put_state(db, state)

    def sync_state(self, account: str, source: str) -> SyncState:
        rows = self._read(
            "SELECT cursor, last_order_id, last_synced_at, last_error FROM sync_state WHERE account=?",
            [account],
        )
        if not rows:
            return SyncState(account, source)
        cursor, last_id, synced, err = rows[0]
        return SyncState(account, source, cursor, last_id, _from_iso(synced), err)

    def sync_states(self) -> list[SyncState]:
        rows = self._read(
            "SELECT account, source, cursor, last_order_id, last_synced_at, last_error "
            "FROM sync_state ORDER BY account"
        )
        return [SyncState(a, s, c, li, _from_iso(t), e) for a, s, c, li, t, e in rows]

    # ------------------------------------------------------------------ journal

    def journal_begin(
        self,
        source: str,
        account: str,
        record_id: str,
        action: str,
        request: dict[str, Any],
        *,
        step: str = "",
        documents: Sequence[Document] | None = None,
    ) -> int:
        """Claim the record for ``action``: write the intent (state 'pending') BEFORE the
        request goes out.

        Check and insert happen in one write transaction (``BEGIN IMMEDIATE``: one writer at a
        time across every thread and process on this cache), so no two claims can both pass:

        - any action on this record still open (running in another InvoiceDesk, crashed
          half-way, or of unknown outcome) → ``JournalBusyError``;
        - for Create Invoice / Credit Note, what is already known to exist decides, counted
          from the journal's finished entries, the cached documents and ``documents`` (the
          caller's fresh read, stored in the same transaction): an invoice that stands (more
          invoices than credit notes) refuses another invoice, and a credit note needs one
          standing → ``AlreadyDoneError``. Counts only grow, so the largest of the three is the
          newest truth, and a process acting on a stale read is stopped here.
        """
        now = _iso(now_utc())
        with self._tx() as db:
            row = db.execute(
                "SELECT id, source, account, record_id, action, state, step, request, result, message, "
                "created_at, updated_at FROM journal WHERE source=? AND account=? AND record_id=? "
                "AND state NOT IN ('done', 'failed') ORDER BY id LIMIT 1",
                (source, account, record_id),
            ).fetchone()
            if row is not None:
                raise JournalBusyError(self._entry(row))
            if source == Source.JUMPSELLER.value and action in ("invoice", "credit_note"):
                self._check_balance_in_tx(db, account, record_id, action, documents)
            cur = db.execute(
                "INSERT INTO journal (source, account, record_id, action, state, step, request, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                (source, account, record_id, action, step, json.dumps(request), now, now),
            )
            entry_id = int(cur.lastrowid or 0)
            self._refresh_needs_in_tx(db, source, account, record_id)
        return entry_id

    def _check_balance_in_tx(
        self,
        db: sqlite3.Connection,
        account: str,
        record_id: str,
        action: str,
        fresh: Sequence[Document] | None,
    ) -> None:
        made = dict(
            db.execute(
                "SELECT action, COUNT(*) FROM journal WHERE source='jumpseller' AND account=? "
                "AND record_id=? AND state IN ('done', 'invoiced') GROUP BY action",
                (account, record_id),
            ).fetchall()
        )
        cached_row = db.execute(
            "SELECT documents FROM records WHERE source='jumpseller' AND account=? AND record_id=?",
            (account, record_id),
        ).fetchone()
        cached = _documents(cached_row[0]) if cached_row else ()

        def counts(docs: Sequence[Document]) -> tuple[int, int]:
            return sum(d.is_invoice for d in docs), sum(d.is_credit_note for d in docs)

        fresh_counts = counts(fresh) if fresh is not None else (0, 0)
        cached_counts = counts(cached)
        invoices = max(made.get("invoice", 0), fresh_counts[0], cached_counts[0])
        credits = max(made.get("credit_note", 0), fresh_counts[1], cached_counts[1])
        if fresh is not None and cached_row and fresh_counts >= cached_counts:
            db.execute(
                "UPDATE records SET documents=? WHERE source='jumpseller' AND account=? AND record_id=?",
                (_documents_json(fresh), account, record_id),
            )
        last = db.execute(
            "SELECT result FROM journal WHERE source='jumpseller' AND account=? AND record_id=? "
            "AND action=? AND state IN ('done', 'invoiced') ORDER BY id DESC LIMIT 1",
            (account, record_id, action),
        ).fetchone()
        public_id = str(json.loads(last[0]).get("public_id", "")) if last else ""
        if not public_id:
            wanted = "is_invoice" if action == "invoice" else "is_credit_note"
            known = [d for d in (fresh or cached) if getattr(d, wanted)]
            public_id = known[-1].public_id if known else ""
        if action == "invoice" and invoices > credits:
            raise AlreadyDoneError(action, record_id, public_id)
        if action == "credit_note" and credits >= invoices:
            raise AlreadyDoneError(action, record_id, public_id, nothing_owed=invoices == 0)

    def journal_update(
        self,
        entry_id: int,
        *,
        state: str,
        step: str | None = None,
        result: dict[str, Any] | None = None,
        message: str | None = None,
        records: Sequence[Order | Invoice] = (),
    ) -> None:
        """Move an action along; optionally store the records it changed in the same transaction."""
        now = _iso(now_utc())
        with self._tx() as db:
            sets = ["state = ?", "updated_at = ?"]
            params: list[Any] = [state, now]
            if step is not None:
                sets.append("step = ?")
                params.append(step)
            if result is not None:
                sets.append("result = ?")
                params.append(json.dumps(result))
            if message is not None:
                sets.append("message = ?")
                params.append(message)
            db.execute(f"UPDATE journal SET {', '.join(sets)} WHERE id = ?", [*params, entry_id])  # noqa: S608
            row = db.execute(
                "SELECT source, account, record_id FROM journal WHERE id = ?", (entry_id,)
            ).fetchone()
            if records:
                self._upsert_in_tx(db, records, True, now or "")
            elif row:
                self._refresh_needs_in_tx(db, *row)

    def _refresh_needs_in_tx(self, db: sqlite3.Connection, source: str, account: str, record_id: str) -> None:
        rows = db.execute(
            "SELECT raw, documents, currency FROM records WHERE source=? AND account=? AND record_id=?",
            (source, account, record_id),
        ).fetchall()
        if not rows:
            return
        record = self._parse_row(source, account, *rows[0])
        flag = self._journal_flags(db, source, account, [record_id]).get(record_id)
        db.execute(
            "UPDATE records SET needs_action = ? WHERE source=? AND account=? AND record_id=?",
            (needs_action(record, flag), source, account, record_id),
        )

    def _parse_row(
        self, source: str, account: str, raw_text: str, docs_text: str | None, currency: str
    ) -> Order | Invoice:
        raw = json.loads(raw_text)
        if source == Source.JUMPSELLER.value:
            order = parse_order(raw, account=account)
            return replace(order, documents=_documents(docs_text)) if docs_text else order
        return parse_invoice_document(raw, account=account, currency=currency)

    def documents_unknown(self, account: str, statuses: Sequence[str]) -> list[str]:
        """Orders in these statuses whose documents were never checked, newest first."""
        marks = ",".join("?" * len(statuses))
        rows = self._read(
            "SELECT record_id FROM records WHERE source='jumpseller' AND account=? "  # noqa: S608
            f"AND documents IS NULL AND status IN ({marks}) ORDER BY id_sort DESC",
            [account, *statuses],
        )
        return [r[0] for r in rows]

    def credit_note_candidates(self, account: str) -> list[str]:
        """Canceled orders with an invoice and no credit note yet: re-checked every sync."""
        rows = self._read(
            "SELECT record_id FROM records WHERE source='jumpseller' AND account=? "
            "AND needs_action = 'credit_note'",
            [account],
        )
        return [r[0] for r in rows]

    def journal(
        self,
        source: str | None = None,
        account: str | None = None,
        record_id: str | None = None,
        *,
        open_only: bool = False,
    ) -> list[JournalEntry]:
        clauses, params = [], []
        for col, val in (("source", source), ("account", account), ("record_id", record_id)):
            if val is not None:
                clauses.append(f"{col} = ?")
                params.append(val)
        if open_only:
            clauses.append("state NOT IN ('done', 'failed')")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._read(
            "SELECT id, source, account, record_id, action, state, step, request, result, message, "  # noqa: S608
            f"created_at, updated_at FROM journal{where} ORDER BY id",
            params,
        )
        return [self._entry(r) for r in rows]

    @staticmethod
    def _entry(r: tuple[Any, ...]) -> JournalEntry:
        return JournalEntry(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            json.loads(r[7]),
            json.loads(r[8]),
            r[9],
            _from_iso(r[10]) or now_utc(),
            _from_iso(r[11]) or now_utc(),
        )
