"""The records: storing pages of orders and invoices (with their raw payloads), the list's
queries (filtered, sorted and paged in SQL), the sync cursors, and what each record needs."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
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
PROGRESS_STEPS = 2000
"""SQLite instructions between two looks at the clock of a query given a time limit."""
WALK_FROM = 1000
"""Filters keeping at least this many records are walked past in the sort's order (``_walks``)."""
WALK_WITHIN = 0.03
"""Seconds such a walk may take before the filtered records are sorted instead."""
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

    _UPSERT_JSON = _UPSERT.replace(
        "VALUES (" + ", ".join("?" * 22) + ")",
        "SELECT " + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(22))  # noqa: S608
        + " FROM json_each(?) WHERE true",  # WHERE: SQLite's parser needs it before ON CONFLICT
    )

    def upsert(
        self,
        records: Sequence[Order | Invoice],
        *,
        state: SyncState | None = None,
        documents_known: bool = False,
        documents_known_for: Collection[str] = (),
    ) -> int:
        """Store a page of records (and optionally the sync cursor) in ONE transaction.

        Orders fetched from the list endpoints carry no documents; unless ``documents_known``,
        the documents already in the cache are kept and used for the order's invoice columns.
        ``documents_known_for``: ids of orders whose documents were read elsewhere (the store's
        document listing) and travel with the order, even when there are none.
        """
        if not records and state is None:
            return 0
        synced = iso(now_utc())
        assert synced is not None
        with self._tx() as db:
            self._upsert_in_tx(db, records, documents_known, synced, frozenset(documents_known_for))
            if state is not None:
                self._put_state(db, state)
        return len(records)

    def _upsert_in_tx(
        self,
        db: sqlite3.Connection,
        records: Sequence[Order | Invoice],
        documents_known: bool,
        synced: str,
        known_for: frozenset[str] = frozenset(),
    ) -> None:
        known: set[tuple[str, str]] = set()
        if not documents_known:
            records, known = self._with_known_documents(db, records)
            known |= {
                (r.account, str(r.id)) for r in records if isinstance(r, Order) and str(r.id) in known_for
            }
        summaries = [r.summary() for r in records]
        by_key: dict[tuple[str, str], list[str]] = {}
        for s in summaries:
            by_key.setdefault((s.source.value, s.account), []).append(s.id)
        flags: dict[tuple[str, str, str], str] = {}
        for (src, acc), ids in by_key.items():
            for rid, flag in self._journal_flags(db, src, acc, ids).items():
                flags[(src, acc, rid)] = flag
        self._write_rows(
            db,
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

    _json_rows = True
    """Whether this SQLite has ``json_each`` (JSON1: built in since 3.38, in most builds before)."""

    def _write_rows(self, db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        """Insert or update a page of rows in ONE statement: the page goes in as one JSON array.

        ``executemany`` lets go of the GIL and takes it back for every row; while another
        thread parses the next page (the sync's event loop), each take-back waits out Python's
        switch interval, and a page of 100 rows took seconds instead of milliseconds (measured:
        20,000 rows in 127 s beside a busy thread, 5 s alone). One statement lets go once.
        """
        if not rows:
            return
        text = self._rows_json(rows) if self._json_rows else None
        # json_extract ends a string at an escaped NUL ("\u0000"): such a page, rare, goes
        # row by row so a name with a NUL byte keeps every character.
        if text is not None and "\\u0000" not in text:
            try:
                db.execute(self._UPSERT_JSON, (text,))
                return
            except sqlite3.OperationalError as exc:
                if "json_each" not in str(exc):
                    raise
                type(self)._json_rows = False  # an old SQLite without JSON1: one row at a time
        db.executemany(self._UPSERT, rows)

    @staticmethod
    def _rows_json(rows: list[tuple[Any, ...]]) -> str | None:
        try:
            return json.dumps(rows, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except ValueError:  # a total too large for a float (inf): JSON cannot say it, SQLite can
            return None

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

    def _where(self, q: Query, rare: str | None = None, walk: bool = False) -> tuple[str, list[Any]]:
        """The WHERE clause of a query; ``rare`` is a search word with few matches (``_rare_word``);
        ``walk`` keeps SQLite from reading the source, account and status filters from their own
        indexes, so it walks the sort's index instead (``_walks``)."""
        clauses: list[str] = []
        params: list[Any] = []
        plus = "+" if walk else ""
        if q.source:
            clauses.append(f"{plus}source = ?")
            params.append(q.source)
        if q.account:
            clauses.append(f"{plus}account = ?")
            params.append(q.account)
        if q.status:
            clauses.append(f"{plus}status = ?")
            params.append(q.status)
        if q.needs_action:
            clauses.append("needs_action != ''")
        if q.needs:
            clauses.append(f"needs_action IN ({', '.join('?' * len(q.needs))})")
            params.extend(q.needs)
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
        walk = rare is None and self._walks(query)
        if query.search.strip() and rare is None:
            rows = self._probe(query, sort, order, offset, limit, walk)
            if rows is not None:
                return rows
        where, params = self._where(query, rare, walk)
        sql = f"SELECT {self._ROW_COLS} FROM records{where} ORDER BY {order} LIMIT ? OFFSET ?"  # noqa: S608
        if walk:
            # The filtered records may all sit at the far end of the sort's order (sorting by
            # account, filtered on one store): a walk that takes too long gives way to a sort.
            found = self._read_within(sql, [*params, limit, offset], WALK_WITHIN)
            if found is not None:
                return [self._row(t) for t in found]
            # Sorted by rowid and sort key alone (a narrow sort), then only the page is read.
            where, params = self._where(query, rare)
            sql = (
                f"SELECT {self._ROW_COLS} FROM records WHERE rowid IN "  # noqa: S608
                f"(SELECT rowid FROM records{where} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}"
            )
        return [self._row(t) for t in self._read(sql, [*params, limit, offset])]

    def _read_within(self, sql: str, params: Sequence[Any], within: float) -> list[tuple[Any, ...]] | None:
        """Rows of a read, or ``None`` when it would take longer than ``within`` seconds."""
        deadline = time.monotonic() + within
        with self._c.lock:
            db = self._c.db
            db.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "interrupt" in str(exc):
                    return None
                raise self._translate(exc) from None
            except sqlite3.Error as exc:
                raise self._translate(exc) from None
            finally:
                db.set_progress_handler(None, 0)

    def position(
        self,
        query: Query,
        rowid: int,
        *,
        sort: str = "date",
        descending: bool = True,
        within: float | None = None,
    ) -> int | None:
        """Where a record stands in the list (0 = first), or ``None`` when the query leaves it out.

        Counts over the sort's index (records before it in that order), so the window can read
        the list down to a record without reading page after page until it shows up. Without
        a filter that is a few ms; a filter (an account, a status) makes it a walk of the
        records, so ``within`` (seconds) gives up and answers ``None`` once it is spent.
        """
        terms = SORT_COLUMNS.get(sort)
        if terms is None:
            raise ValueError(f"cannot sort on {sort!r}")
        where, params = self._where(query, self._rare_word(query))
        base = where.removeprefix(" WHERE ")
        keyed = " AND ".join(filter(None, [base, "rowid = ?"]))
        counts: list[tuple[str, list[Any]]] = []
        with self._c.lock:
            db = self._c.db
            if within is not None:
                deadline = time.monotonic() + within
                db.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
            try:
                got = db.execute(f"SELECT {', '.join(terms)} FROM records WHERE {keyed}", [*params, rowid])  # noqa: S608
                row = got.fetchone()
                if row is None:
                    return None
                values = list(row)
                # Records before it: equal on the first i terms and before it on term i, for
                # some i (rowid last). One count each, so each reads a range of an index.
                # NULLs sort first ascending.
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
                        clause = " AND ".join(
                            [*filter(None, [base]), *(f"{t} IS ?" for t in terms[:i]), step]
                        )
                        counts.append((clause, [*params, *values[:i], *step_params]))
                return sum(
                    int(db.execute(f"SELECT count(*) FROM records WHERE {clause}", p).fetchone()[0])  # noqa: S608
                    for clause, p in counts
                )
            except sqlite3.OperationalError as exc:
                if within is not None and "interrupt" in str(exc):
                    return None  # took longer than allowed
                raise self._translate(exc) from None
            except sqlite3.Error as exc:
                raise self._translate(exc) from None
            finally:
                if within is not None:
                    db.set_progress_handler(None, 0)

    def _walks(self, query: Query) -> bool:
        """Whether a page should walk the sort's index past records the filters leave out.

        SQLite takes an account, source or status filter as very selective and reads it from
        that column's index, then sorts every match: 50,000 records of one account, for a page
        of 200. When the filters keep many records (``WALK_FROM``), walking the sort's index
        and skipping the others finds a page after a few hundred; when they keep few, sorting
        those few is quicker. Counting them reads an index range (about a ms per 50,000).
        """
        if not (query.source or query.account or query.status):
            return False
        where, params = self._where(
            replace(query, search="", needs_action=False, date_from=None, date_to=None)
        )
        kept = f"SELECT count(*) FROM (SELECT 1 FROM records{where} LIMIT ?)"  # noqa: S608
        (n,) = self._read(kept, [*params, WALK_FROM])[0]
        return int(n) >= WALK_FROM

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
        rare = self._rare_word(query)
        where, params = self._where(query, rare, rare is None and self._walks(query))
        sql = (
            f"EXPLAIN QUERY PLAN SELECT {self._ROW_COLS} FROM records{where} "  # noqa: S608
            f"ORDER BY {self._order_by(sort, descending)} LIMIT ? OFFSET ?"
        )
        return "\n".join(str(r[-1]) for r in self._read(sql, [*params, 200, 0]))

    def _probe(
        self, query: Query, sort: str, order: str, offset: int, limit: int, walk: bool = False
    ) -> list[Row] | None:
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
        others, params = self._where(replace(query, search=""), walk=walk)
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

    def needs_counts(self, query: Query, codes: Sequence[str]) -> dict[str, int]:
        """How many records of ``query`` wait for each of ``codes`` (the views' counts); codes
        nobody waits for are left out. Only those codes' stretch of the ``needs_action`` index
        is read. Measured at 100,000 records (5,266 waiting): 1 ms over every account, 25 to
        30 ms narrowed to one account or source (each waiting record is looked up)."""
        if not codes:
            return {}
        where, params = self._where(replace(query, needs=tuple(codes)))
        # The needs index, named: left to itself SQLite reads every record of the account or
        # source (49 ms at 100,000, against 28 ms this way) to count the few that wait.
        rows = self._read(
            f"SELECT needs_action, count(*) FROM records INDEXED BY records_needs{where} "  # noqa: S608
            "GROUP BY needs_action",
            params,
        )
        return {str(code): int(n) for code, n in rows if code}

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
