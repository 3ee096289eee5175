"""The records: storing pages of orders and invoices (with their raw payloads), the list's
queries (filtered, sorted and paged in SQL), the sync cursors, and what each record needs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from invoicedesk.cache.opening import CacheFile
from invoicedesk.cache.values import (
    SORT_COLUMNS,
    Query,
    RecordRow,
    Row,
    SyncState,
    decimal_or_none,
    documents_from_json,
    documents_json,
    from_iso,
    id_sort,
    iso,
    now_utc,
)
from invoicedesk.domain import Document, Invoice, Order, Source, Summary, parse_invoice_document, parse_order
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.needs import needs_action

PROBE_ROWS = 12_000
"""How many records, in the list's order, a search for a common term matches one by one before
searching every record; the default order (newest first) reads them from one narrow index."""
PROBE_ROWS_UNCOVERED = 3_000
"""The same for the other orders, whose indexes do not hold the search text (a read per record)."""
RARE_MATCHES = 2000
"""A search word with fewer matches than this is looked up in the trigram index, then sorted."""


_SOURCES = {s.value: s for s in Source}


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class RecordsCache(CacheFile):
    """The records and sync state of an open cache file."""

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
            documents = documents_json(record.documents)
        raw = record.raw
        total = summary.total
        return (
            summary.source.value,
            summary.account,
            summary.id,
            id_sort(summary.id),
            iso(summary.date),
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
            needs_action(record, open_action, documents_known=documents is not None),
            summary.search_text,
            summary.problems_count,
            iso(getattr(record, "updated_at", None)),
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
        synced = iso(now_utc())
        assert synced is not None
        with self._tx() as db:
            self._upsert_in_tx(db, records, documents_known, synced)
            if state is not None:
                self._put_state(db, state)
        return len(records)

    def _upsert_in_tx(
        self, db: sqlite3.Connection, records: Sequence[Order | Invoice], documents_known: bool, synced: str
    ) -> None:
        known: set[tuple[str, str]] = set()
        if not documents_known:
            records, known = self._with_known_documents(db, records)
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
                self._row_values(
                    r,
                    s,
                    flags.get((s.source.value, s.account, s.id)),
                    synced,
                    documents_known or (s.account, s.id) in known,
                )
                for r, s in zip(records, summaries, strict=True)
            ],
        )

    def _with_known_documents(
        self, db: sqlite3.Connection, records: Sequence[Order | Invoice]
    ) -> tuple[list[Order | Invoice], set[tuple[str, str]]]:
        """Orders from a listing carry no documents: give them the ones already read, and say
        which orders' documents are known (read before, even if there were none)."""
        orders = [r for r in records if isinstance(r, Order) and not r.documents]
        if not orders:
            return list(records), {(r.account, str(r.id)) for r in records if isinstance(r, Order)}
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
                    known[(account, rid)] = documents_from_json(docs)
        out: list[Order | Invoice] = []
        for r in records:
            docs = known.get((r.account, str(r.id))) if isinstance(r, Order) else None
            out.append(replace(r, documents=docs) if docs and isinstance(r, Order) else r)
        with_docs = {(r.account, str(r.id)) for r in records if isinstance(r, Order) and r.documents}
        return out, set(known) | with_docs

    def set_documents(self, account: str, order_id: str, documents: Sequence[Document]) -> None:
        """Replace an order's documents (after an attach, or a documents check) and refresh it."""
        self.set_documents_many(account, [(order_id, documents)])

    def set_documents_many(self, account: str, items: Sequence[tuple[str, Sequence[Document]]]) -> None:
        """Documents of many orders in one transaction (the sync's documents checks, batched)."""
        synced = iso(now_utc())
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

    def _where(self, q: Query, rare: str | None = None) -> tuple[str, list[Any]]:
        """The WHERE clause of a query; ``rare`` is a search word with few matches (``_rare_word``)."""
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
            params.append(iso(q.date_from))
        if q.date_to:
            clauses.append("date < ?")
            params.append(iso(q.date_to))
        for word in q.search.strip().lower().split():
            if word == rare:
                # Few matches: look them up by rowid, then sort those few.
                clauses.append("rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)")
                params.append(_phrase(word))
            elif rare is None and self.has_fts and len(word) >= 3:
                # Many matches: walk the sort's index, keeping the rowids the trigram index names.
                clauses.append("+rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)")
                params.append(_phrase(word))
            else:
                clauses.append("search_text LIKE ? ESCAPE '\\'")
                params.append(_like(word))
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
                source=_SOURCES[t[1]],
                account=t[2],
                id=t[3],
                date=from_iso(t[4]),
                customer=t[5],
                email=t[6],
                total=decimal_or_none(t[7]),
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
        """One page of the list, filtered and sorted in SQL (read from the sort's index in order)."""
        order = self._order_by(sort, descending)
        rare = self._rare_word(query)
        if query.search.strip() and rare is None:
            rows = self._probe(query, sort, order, offset, limit)
            if rows is not None:
                return rows
        where, params = self._where(query, rare)
        sql = f"SELECT {self._ROW_COLS} FROM records{where} ORDER BY {order} LIMIT ? OFFSET ?"  # noqa: S608
        return [self._row(t) for t in self._read(sql, [*params, limit, offset])]

    def position(
        self, query: Query, rowid: int, *, sort: str = "date", descending: bool = True
    ) -> int | None:
        """Where a record stands in the list (0 = first), or ``None`` when the query leaves it out.

        One count over the sort's index (records before it in that order), so the window can
        read the list down to a record without reading page after page until it shows up.
        """
        terms = SORT_COLUMNS.get(sort)
        if terms is None:
            raise ValueError(f"cannot sort on {sort!r}")
        where, params = self._where(query, self._rare_word(query))
        keyed = " AND ".join(filter(None, [where.removeprefix(" WHERE "), "rowid = ?"]))
        got = self._read(
            f"SELECT {', '.join(terms)} FROM records WHERE {keyed}",  # noqa: S608
            [*params, rowid],
        )
        if not got:
            return None
        values = list(got[0])
        # Records before it: equal on the first i terms and before it on term i, for some i
        # (rowid last). One count each, so each reads a range of the sort's index.
        # NULLs sort first ascending.
        base = where.removeprefix(" WHERE ")
        total = 0
        for i, (term, value) in enumerate(zip((*terms, "rowid"), (*values, rowid), strict=True)):
            steps: list[tuple[str, list[Any]]] = []
            if value is None:
                if descending:
                    steps.append((f"{term} IS NOT NULL", []))
            elif descending:
                steps.append((f"{term} > ?", [value]))
            else:
                steps += [(f"{term} IS NULL", []), (f"{term} < ?", [value])]
            for step, step_params in steps:
                clause = " AND ".join([*filter(None, [base]), *(f"{t} IS ?" for t in terms[:i]), step])
                (n,) = self._read(
                    f"SELECT count(*) FROM records WHERE {clause}",  # noqa: S608
                    [*params, *values[:i], *step_params],
                )[0]
                total += int(n)
        return total

    def _rare_word(self, query: Query) -> str | None:
        """The search word with the fewest matches when it has fewer than ``RARE_MATCHES``.

        Its matches are few enough to read by rowid and sort; every other search walks the
        list's order instead (``_probe``). Counting up to the cap costs well under 3 ms even
        for a word in every record: the trigram index hands matches out one at a time.
        """
        if not self.has_fts:
            return None
        best: tuple[int, str] | None = None
        for word in query.search.strip().lower().split():
            if len(word) < 3:
                continue
            (n,) = self._read(
                "SELECT count(*) FROM (SELECT 1 FROM records_fts WHERE records_fts MATCH ? LIMIT ?)",
                [_phrase(word), RARE_MATCHES],
            )[0]
            if n < RARE_MATCHES and (best is None or n < best[0]):
                best = (n, word)
        return best[1] if best else None

    @staticmethod
    def _order_by(sort: str, descending: bool) -> str:
        terms = SORT_COLUMNS.get(sort)
        if terms is None:
            raise ValueError(f"cannot sort on {sort!r}")
        direction = "DESC" if descending else "ASC"
        return ", ".join(f"{term} {direction}" for term in (*terms, "rowid"))

    def page_plan(self, query: Query = Query(), *, sort: str = "date", descending: bool = True) -> str:
        """SQLite's plan for a page of the list (``EXPLAIN QUERY PLAN``), one step a line."""
        where, params = self._where(query, self._rare_word(query))
        sql = (
            f"EXPLAIN QUERY PLAN SELECT {self._ROW_COLS} FROM records{where} "  # noqa: S608
            f"ORDER BY {self._order_by(sort, descending)} LIMIT ? OFFSET ?"
        )
        return "\n".join(str(r[-1]) for r in self._read(sql, [*params, 200, 0]))

    def _probe(self, query: Query, sort: str, order: str, offset: int, limit: int) -> list[Row] | None:
        """A page of a search found among the first records in the list's order, or ``None``.

        A common term ("@example.com", "son") is in thousands of records: the trigram index
        would hand them all back to be sorted, while the first page is among the first few
        hundred records in order. So the first records in order (read from the sort's index,
        for the default sort without touching the records at all) are matched one by one,
        stopping at a full page. When they hold less than that, ``None``: the caller searches
        all records.
        """
        window = PROBE_ROWS if sort == "date" else PROBE_ROWS_UNCOVERED
        wanted = offset + limit
        if wanted > window:
            return None
        others, params = self._where(replace(query, search=""))
        words = query.search.strip().lower().split()
        likes = " AND ".join("search_text LIKE ? ESCAPE '\\'" for _ in words)
        # The window keeps its ORDER BY (it has a LIMIT), and the outer scan keeps its order.
        first = f"SELECT rowid, search_text FROM records{others} ORDER BY {order} LIMIT ?"  # noqa: S608
        hits = [
            int(r[0])
            for r in self._read(
                f"SELECT rowid FROM ({first}) WHERE {likes} LIMIT ?",  # noqa: S608
                [*params, window, *(_like(w) for w in words), wanted],
            )
        ]
        if len(hits) < wanted:
            (in_window,) = self._read(
                f"SELECT count(*) FROM (SELECT 1 FROM records{others} LIMIT ?)",  # noqa: S608
                [*params, window],
            )[0]
            if in_window >= window:
                return None  # later records may match too
        page = hits[offset:wanted]
        if not page:
            return []
        marks = ",".join("?" * len(page))
        found = self._read(f"SELECT {self._ROW_COLS} FROM records WHERE rowid IN ({marks})", page)  # noqa: S608
        by_rowid = {t[0]: t for t in found}
        return [self._row(by_rowid[r]) for r in page if r in by_rowid]

    def count(self, query: Query = Query()) -> int:
        where, params = self._where(query, self._rare_word(query))
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

    def record_rows(self, keys: Sequence[tuple[str, str, str]]) -> list[RecordRow]:
        """The stored form of these records (raw payload, documents, currency), for sharing."""
        out: list[RecordRow] = []
        for source, account, record_id in keys:
            rows = self._read(
                "SELECT raw, documents, currency FROM records WHERE source=? AND account=? AND record_id=?",
                (source, account, record_id),
            )
            if rows:
                out.append(RecordRow(source, account, record_id, rows[0][0], rows[0][1], rows[0][2] or ""))
        return out

    def apply_record_rows(self, rows: Sequence[RecordRow]) -> None:
        """Records another desk stored: rebuilt from their raw payloads, stored in one go."""
        records: list[Order | Invoice] = []
        with_docs: list[Order | Invoice] = []
        for r in rows:
            try:
                record = self._parse_row(r.source, r.account, r.raw, r.documents, r.currency)
            except (ValueError, InvoiceDeskError):
                continue  # a payload this version cannot read: keep what is cached
            (with_docs if r.documents is not None else records).append(record)
        if with_docs:
            self.upsert(with_docs, documents_known=True)
        if records:
            self.upsert(records)

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
            (s.account, s.source, s.cursor, s.last_order_id, iso(s.last_synced_at), s.last_error),
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
        return SyncState(account, source, cursor, last_id, from_iso(synced), err)

    def sync_states(self) -> list[SyncState]:
        rows = self._read(
            "SELECT account, source, cursor, last_order_id, last_synced_at, last_error "
            "FROM sync_state ORDER BY account"
        )
        return [SyncState(a, s, c, li, from_iso(t), e) for a, s, c, li, t, e in rows]

    # ------------------------------------------------------------------ what a record needs

    def _refresh_needs_in_tx(self, db: sqlite3.Connection, source: str, account: str, record_id: str) -> None:
        rows = db.execute(
            "SELECT raw, documents, currency FROM records WHERE source=? AND account=? AND record_id=?",
            (source, account, record_id),
        ).fetchall()
        if not rows:
            return
        record = self._parse_row(source, account, *rows[0])
        flag = self._journal_flags(db, source, account, [record_id]).get(record_id)
        needs = needs_action(record, flag, documents_known=rows[0][1] is not None)
        db.execute(
            "UPDATE records SET needs_action = ? WHERE source=? AND account=? AND record_id=?",
            (needs, source, account, record_id),
        )

    def _parse_row(
        self, source: str, account: str, raw_text: str, docs_text: str | None, currency: str
    ) -> Order | Invoice:
        raw = json.loads(raw_text)
        if source == Source.JUMPSELLER.value:
            order = parse_order(raw, account=account)
            return replace(order, documents=documents_from_json(docs_text)) if docs_text else order
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
