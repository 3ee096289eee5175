"""The journal of actions, and :class:`Cache`, the whole cache: records plus the journal.

Every action (create an invoice, mark sent...) claims its record in the journal before anything
is sent, moves along its states, and is mirrored to the append-only journal file, fsync'd,
before the caller acts on it; opening the cache restores what the table lost from that file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from invoicedesk.cache import journal_sql as sql
from invoicedesk.cache.errors import (
    CacheError,
    CacheFullError,
    CacheReadOnlyError,
    CacheRefusedError,
    JournalBusyError,
)
from invoicedesk.cache.journal_file import COMPACT_AT, entry_dict, restore_entries
from invoicedesk.cache.records import RecordsCache
from invoicedesk.cache.schema import CACHE_FILE, ONE_ENTRY
from invoicedesk.cache.values import JournalEntry, documents_from_json, documents_json, from_iso, iso, now_utc
from invoicedesk.claims import check_balance, counts
from invoicedesk.domain import Document, Invoice, Order, Source
from invoicedesk.paths import FULL_ERRNOS, describe_folder_error

# Every part logs as "invoicedesk.cache", the name support filters the log file by.
log = logging.getLogger("invoicedesk.cache")


class Cache(RecordsCache):
    """The cache file. Safe to share between the GUI thread and an executor thread.

    ``Cache.open(folder)`` is how a program starts: it also runs SQLite's ``quick_check`` (about
    0.2 s at 100,000 records) so a damaged file is set aside before anything reads it. Further
    connections to the same file (a worker thread's) use ``Cache(path)`` and skip that check. The
    window opens with ``Cache(path)`` too and runs the check (``opening.quick_check``) in a worker
    thread once its list has painted, before any start-up work writes.
    """

    def __init__(self, path: Path, *, check: bool = False, busy_wait: float = 120.0) -> None:
        super().__init__(path, check=check, busy_wait=busy_wait)
        try:
            self._reconcile_journal()
        except BaseException:
            self._c.db.close()
            raise
        self._compact_journal_file()

    @classmethod
    def open(cls, data_dir: Path) -> Cache:
        return cls(data_dir / CACHE_FILE, check=True)

    # ------------------------------------------------------------------ the journal file

    def _reconcile_journal(self) -> None:
        """Restore entries the table lost or holds in an older state (a deleted WAL, a crash)."""
        try:
            entries = self.journal_file.read()
        except IsADirectoryError:
            raise CacheRefusedError(
                f"{self.journal_file.path} is a folder, not InvoiceDesk's journal file: move it away, "
                "then run the command again."
            ) from None
        except OSError as exc:
            raise CacheReadOnlyError(describe_folder_error(exc, self.folder)) from None
        ids = sorted(entries)
        stored: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._read(
                "SELECT id, source, account, record_id, action, created_at, updated_at FROM journal "  # noqa: S608
                f"WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            stored.update((int(r[0]), tuple(r[1:])) for r in rows)

        def current(entry_id: int, e: dict[str, Any]) -> bool:
            row = stored.get(entry_id)
            same = (e["source"], e["account"], e["record_id"], e["action"], e.get("created_at"))
            return row is not None and row[:5] == same and str(row[5]) >= e["updated_at"]

        stale = {i: e for i, e in entries.items() if not current(i, e)}
        if not stale:
            return  # the usual case: no write lock taken to open the cache
        with self._tx() as db:
            for key in restore_entries(db, stale):
                self._refresh_needs_in_tx(db, *key)

    def _mirror_journal(self, entry_id: int, *, starting: bool = False) -> None:
        """Append the entry's state to the journal file, fsync'd, before the caller acts on it.

        When ``starting`` (the intent of an action) cannot be written, the entry is closed as
        failed and the action refused: nothing was sent yet, and it must not be sent unrecorded.
        """
        with self._c.lock:
            row = self._c.db.execute(ONE_ENTRY, (entry_id,)).fetchone()
            if row is None:
                return
            try:
                self.journal_file.append([entry_dict(row)])
            except OSError as exc:
                message = describe_folder_error(exc, self.folder)
                if not starting:
                    log.warning("journal entry %s kept in the cache only: %s", entry_id, message)
                    return
                try:
                    with self._tx() as db:
                        db.execute(
                            "UPDATE journal SET state='failed', message=? WHERE id=?",
                            ("Not started: the journal could not be written.", entry_id),
                        )
                        self._refresh_needs_in_tx(db, row[1], row[2], row[3])
                except CacheError:
                    pass
                error = CacheFullError if exc.errno in FULL_ERRNOS else CacheReadOnlyError
                raise error(message) from None
        if self.journal_file.size() > COMPACT_AT:
            self._compact_journal_file()

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
        now = iso(now_utc())
        with self._tx() as db:
            row = db.execute(sql.first_open("?"), (source, account, record_id)).fetchone()
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
        self._mirror_journal(entry_id, starting=True)
        return entry_id

    def _check_balance_in_tx(
        self,
        db: sqlite3.Connection,
        account: str,
        record_id: str,
        action: str,
        fresh: Sequence[Document] | None,
    ) -> None:
        made = dict(db.execute(sql.made_counts("?"), (account, record_id)).fetchall())
        cached_row = db.execute(sql.stored_documents("?"), (account, record_id)).fetchone()
        cached = documents_from_json(cached_row[0]) if cached_row else ()

        if fresh is not None and cached_row and counts(fresh) >= counts(cached):
            db.execute(
                "UPDATE records SET documents=? WHERE source='jumpseller' AND account=? AND record_id=?",
                (documents_json(fresh), account, record_id),
            )
        last = db.execute(sql.last_made_result("?"), (account, record_id, action)).fetchone()
        last_id = sql.public_id(last[0]) if last else ""
        check_balance(action, record_id, made=made, fresh=fresh, stored=cached, last_public_id=last_id)

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
        now = iso(now_utc())
        with self._tx() as db:
            db.execute(
                *sql.update_entry(
                    "?", entry_id, state=state, step=step, result=result, message=message,
                    stamp=("updated_at = ?", [now]),
                )
            )
            row = db.execute(
                "SELECT source, account, record_id FROM journal WHERE id = ?", (entry_id,)
            ).fetchone()
            if records:
                self._upsert_in_tx(db, records, True, now or "")
            elif row:
                self._refresh_needs_in_tx(db, *row)
        self._mirror_journal(entry_id)

    def journal(
        self,
        source: str | None = None,
        account: str | None = None,
        record_id: str | None = None,
        *,
        open_only: bool = False,
    ) -> list[JournalEntry]:
        rows = self._read(*sql.select_entries("?", source, account, record_id, open_only=open_only))
        return [self._entry(r) for r in rows]

    def journal_entry(self, entry_id: int) -> JournalEntry | None:
        rows = self._read(ONE_ENTRY, (entry_id,))
        return self._entry(rows[0]) if rows else None

    def mirror_journal(self, entries: Sequence[JournalEntry]) -> None:
        """Team mode: store the team's entries as they are there (same ids), in one transaction,
        and refresh the needs-action of their records. The team's ids are the only ones a desk
        in team mode writes, so the mirror never collides with an entry of its own."""
        if not entries:
            return
        with self._tx() as db:
            for e in entries:
                db.execute(
                    "INSERT OR REPLACE INTO journal (id, source, account, record_id, action, state, step, "
                    "request, result, message, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        e.id, e.source, e.account, e.record_id, e.action, e.state, e.step,
                        json.dumps(e.request, default=str), json.dumps(e.result, default=str), e.message,
                        iso(e.created_at), iso(e.updated_at),
                    ),
                )
            for key in {(e.source, e.account, e.record_id) for e in entries}:
                self._refresh_needs_in_tx(db, *key)
        for e in entries:
            self._mirror_journal(e.id)

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
            from_iso(r[10]) or now_utc(),
            from_iso(r[11]) or now_utc(),
        )
