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

Nothing lost, one clear line (what breaks a cache, and what happens then):
- Every SQLite or OS failure becomes one :class:`CacheError` sentence naming the file or folder
  and what to do: a full disk keeps the last complete transaction (a sync page) and names the
  folder whose disk is full; a read-only folder is "cannot write to <folder>", never "damaged";
  "database is locked" is waited out (busy timeout, then BEGIN IMMEDIATE retried) and only after
  ``busy_wait`` seconds becomes a sentence about another InvoiceDesk holding the cache.
- A 0-byte file, a file that is not SQLite, or a SQLite file that is not ours is refused and left
  as it is, never replaced. A new cache is built under a temporary name and linked into place only
  once its schema exists, so an InvoiceDesk killed while creating one never leaves a 0-byte cache.
- A damaged cache (``quick_check`` fails at open, a page read fails later, ``user_version`` out of
  range, a table missing) is set aside: its readable journal entries and those of the journal
  file are first written into a new cache, then the damaged file is renamed with a timestamp
  (never deleted), and staff are told how many unfinished actions were carried over.
- The journal of actions also lives outside SQLite, in ``actions-journal.jsonl`` next to the
  cache: every change of an entry is appended as one JSON line and fsync'd, after its
  transaction commits and before the caller sends anything to a service. Opening the cache
  restores entries that are missing in the table, or older there than in the file. Why a second
  file and not only ``synchronous=FULL``: FULL makes a commit survive a power cut, but not a
  deleted ``-wal`` file (after a crash, the WAL holds every commit since the last checkpoint) nor
  a damaged database, and those are exactly the cases where losing an "invoiced" entry makes the
  next run invoice the order again. The fsync of one short line costs what FULL's WAL fsync would,
  so the cache keeps ``synchronous=NORMAL`` for the bulk writes of a sync. The file stays small:
  once a passive checkpoint has copied every WAL frame into the (fsync'd) database file, the file
  is rewritten with only the unfinished entries (at close, at open, and when it passes 256 KB).
  Appends and rewrites take an ``fcntl`` lock, so several InvoiceDesk processes share it safely.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

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
from invoicedesk.paths import (
    FULL_ERRNOS,
    cannot_write,
    describe_folder_error,
    ensure_writable_folder,
    fsync_folder,
    full_disk,
)

try:  # POSIX; elsewhere one process at a time appends (the GUI or the command line)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
T = TypeVar("T")

CACHE_FILE = "cache.sqlite3"
JOURNAL_FILE = "actions-journal.jsonl"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_COMPACT_AT = 256 * 1024
"""Bytes of journal file above which it is compacted after the next change."""
_DAMAGED_SUFFIX = ".damaged"
"""A marker next to the cache: a read found it damaged, so the next open sets it aside."""


class CacheError(InvoiceDeskError):
    """The cache cannot be used; the message says what is wrong and what to do."""


class CacheFullError(CacheError):
    """The disk holding the cache is full (the last complete transaction is kept)."""


class CacheReadOnlyError(CacheError):
    """The data folder cannot be written (read-only file system, permissions)."""


class CacheBusyError(CacheError):
    """Another InvoiceDesk held the cache for longer than we wait."""


class CacheDamagedError(CacheError):
    """A page of the cache cannot be read; the next open sets the file aside."""


class CacheRefusedError(CacheError):
    """The cache file is not an InvoiceDesk cache (0 bytes, not SQLite, someone else's)."""


class CacheSetAsideError(CacheError):
    """The damaged cache was set aside and a new one started; the message says how."""


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


_JOURNAL_COLS = (
    "id, source, account, record_id, action, state, step, request, result, message, "
    "created_at, updated_at"
)
_ONE_ENTRY = f"SELECT {_JOURNAL_COLS} FROM journal WHERE id = ?"  # noqa: S608
_CLOSED_STATES = ("done", "failed")
"""States that close an entry; any other state is unfinished."""


def _sqlite_kind(exc: sqlite3.Error) -> str:
    """full | readonly | busy | damaged | io | cantopen | other, from SQLite's result code."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == 13 or "disk is full" in text:
        return "full"
    if primary == 8 or "readonly" in text:
        return "readonly"
    if primary in (5, 6) or "database is locked" in text or "is busy" in text:
        return "busy"
    if primary in (11, 26) or "malformed" in text or "not a database" in text:
        return "damaged"
    if primary == 10 or "disk i/o error" in text:
        return "io"
    if primary == 14 or "unable to open" in text:
        return "cantopen"
    return "other"


def _one_line(text: str) -> str:
    """SQLite's multi-line diagnostics (``quick_check``) as a short single line."""
    return " ".join(text.replace("*** in database main ***", "").split())[:120]


def _entry_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A journal row as the JSON object the journal file holds (request/result decoded)."""
    names = [c.strip() for c in _JOURNAL_COLS.split(",")]
    d = dict(zip(names, row, strict=True))
    for key in ("request", "result"):
        try:
            d[key] = json.loads(d[key]) if isinstance(d[key], str) else d[key]
        except ValueError:
            d[key] = {}
    return d


class JournalFile:
    """The append-only copy of the journal: one JSON object per line, the last line of an id wins.

    Appends are fsync'd one by one; a torn last line (power cut mid-write) is skipped on reading
    and never glued to the next append. Every write holds an ``fcntl`` lock on a lock file that is
    never replaced, so a compaction by one process and an append by another cannot interleave.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    @contextmanager
    def locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def append(self, entries: Sequence[dict[str, Any]]) -> None:
        data = "".join(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in entries)
        with self.locked():
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = "\n" + data  # a torn line from a crash stays alone on its line
                os.write(fd, data.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                fsync_folder(self.path.parent)

    def read(self) -> dict[int, dict[str, Any]]:
        """The newest state of every entry in the file, by id (unreadable lines are skipped)."""
        try:
            text = self.path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return {}
        out: dict[int, dict[str, Any]] = {}
        for line in text.splitlines():
            try:
                e = json.loads(line)
                entry_id = int(e["id"])
                if not all(isinstance(e.get(k), str) for k in ("source", "account", "record_id",
                                                               "action", "state", "updated_at")):
                    continue
            except (ValueError, KeyError, TypeError):
                continue
            out[entry_id] = e
        return out

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def compact(self, checkpointed: Callable[[], bool]) -> bool:
        """Keep only unfinished entries, if ``checkpointed()`` says the database file has the rest."""
        with self.locked():
            entries = self.read()
            keep = [e for e in entries.values() if e["state"] not in _CLOSED_STATES]
            if not self.path.exists() or (len(keep) == len(entries) and self.size() < _COMPACT_AT):
                return False
            if not checkpointed():
                return False
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            data = "".join(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in keep)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            fsync_folder(self.path.parent)
            return True


def _migrate_db(db: sqlite3.Connection, path: Path) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(_MIGRATIONS):
        raise CacheError(
            f"The cache {path} was written by a newer InvoiceDesk (schema {version}); "
            "update InvoiceDesk or move the file away."
        )
    for number in range(version, len(_MIGRATIONS)):
        # One script per migration: schema and version change commit together or not at all.
        db.executescript(
            f"BEGIN IMMEDIATE; {_MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
        )


_OUR_TABLES = frozenset({"records", "sync_state", "journal"})


def _restore_entries(db: sqlite3.Connection, entries: dict[int, dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Write file entries the table lacks or holds older; returns the records they touch."""
    touched: set[tuple[str, str, str]] = set()
    for entry_id in sorted(entries):
        e = entries[entry_id]
        values = (
            e["source"], e["account"], e["record_id"], e["action"], e["state"], str(e.get("step") or ""),
            json.dumps(e.get("request") or {}), json.dumps(e.get("result") or {}),
            str(e.get("message") or ""), str(e.get("created_at") or e["updated_at"]), e["updated_at"],
        )
        row = db.execute(
            "SELECT source, account, record_id, action, created_at, updated_at FROM journal WHERE id = ?",
            (entry_id,),
        ).fetchone()
        if row is None:
            db.execute(f"INSERT INTO journal ({_JOURNAL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                       (entry_id, *values))
        elif tuple(row[:5]) != (*values[:4], values[9]):
            # The id was reused for another action (a table that lost entries took new ones):
            # keep both, the file's under a new id, unless it is already there.
            same = db.execute(
                "SELECT 1 FROM journal WHERE source=? AND account=? AND record_id=? AND action=? "
                "AND created_at=?", (*values[:4], values[9]),
            ).fetchone()
            if same is None:
                db.execute(
                    "INSERT INTO journal (source, account, record_id, action, state, step, request, result, "
                    "message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values,
                )
            else:
                continue
        elif str(row[5]) < e["updated_at"]:
            db.execute(
                "UPDATE journal SET state=?, step=?, request=?, result=?, message=?, updated_at=? WHERE id=?",
                (values[4], values[5], values[6], values[7], values[8], values[10], entry_id),
            )
        else:
            continue
        touched.add((e["source"], e["account"], e["record_id"]))
    return touched



class Cache:
    """The cache file. Safe to share between the GUI thread and an executor thread.

    ``Cache.open(folder)`` is how a program starts: it also runs SQLite's ``quick_check`` (about
    0.2 s at 100,000 records) so a damaged file is set aside before anything reads it. Further
    connections to the same file (a worker thread's) use ``Cache(path)`` and skip that check.
    """

    def __init__(self, path: Path, *, check: bool = False, busy_wait: float = 120.0) -> None:
        self.path = path
        self.folder = path.parent
        self.busy_wait = busy_wait
        self.journal_file = JournalFile(self.folder / JOURNAL_FILE)
        try:
            ensure_writable_folder(self.folder)
        except OSError as exc:
            error = CacheFullError if exc.errno in FULL_ERRNOS else CacheReadOnlyError
            raise error(describe_folder_error(exc, self.folder)) from None
        damage = self._inspect_file()
        if not path.exists():
            self._create_new(path, [])
        db: sqlite3.Connection | None = None
        if damage is None:
            try:
                db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
                self._c = _Conn(db)
                db.execute(f"PRAGMA busy_timeout={int(min(busy_wait, 10.0) * 1000)}")
                damage = self._check_ours(db, check)  # before anything writes to the file
                if damage is None:
                    self._retry_busy(lambda: db.execute("PRAGMA journal_mode=WAL"))
                    db.execute("PRAGMA synchronous=NORMAL")
                    db.execute("PRAGMA foreign_keys=ON")
                    self._retry_busy(lambda: _migrate_db(db, path))
                    self.has_fts = self._try_fts()
            except sqlite3.Error as exc:
                if _sqlite_kind(exc) != "damaged":
                    if db is not None:
                        db.close()
                    raise self._translate(exc) from None
                damage = _one_line(str(exc))
            except CacheError:
                if db is not None:
                    db.close()
                raise
        if damage is not None:
            if db is not None:
                db.close()
            raise self._set_aside(damage)
        assert db is not None
        try:
            self._reconcile_journal()
        except BaseException:
            db.close()
            raise
        self._compact_journal_file()

    @classmethod
    def open(cls, data_dir: Path) -> Cache:
        return cls(data_dir / CACHE_FILE, check=True)

    # ------------------------------------------------------------------ opening safely

    def _inspect_file(self) -> str | None:
        """Refuse what is not ours; return why the file is damaged, or ``None`` if it looks fine."""
        path = self.path
        if not path.exists():
            return None
        if path.is_dir():
            raise CacheRefusedError(
                f"The cache {path} is a folder, not a file: move it away, then run the command again."
            )
        try:
            with path.open("rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise CacheReadOnlyError(describe_folder_error(exc, self.folder)) from None
        if not head:
            raise CacheRefusedError(
                f"The cache {path} is empty (0 bytes), so it is not an InvoiceDesk cache and was left "
                "as it is. Move it away (InvoiceDesk then starts a new cache and keeps its journal "
                "of actions), then run the command again."
            )
        if head != _SQLITE_MAGIC:
            raise CacheRefusedError(
                f"The file {path} is not an InvoiceDesk cache (not a SQLite database) and was left as "
                "it is. Move it away (InvoiceDesk then starts a new cache), then run the command again."
            )
        if self._damage_marker.exists():
            try:
                return self._damage_marker.read_text(encoding="utf-8").strip() or "damaged"
            except OSError:
                return "damaged"
        return None

    @property
    def _damage_marker(self) -> Path:
        return self.path.with_name(self.path.name + _DAMAGED_SUFFIX)

    def _check_ours(self, db: sqlite3.Connection, quick_check: bool) -> str | None:
        """Refuse someone else's SQLite file; say why ours is damaged, or ``None``."""
        (version,) = db.execute("PRAGMA user_version").fetchone()
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        ours = bool(names & _OUR_TABLES)
        if not ours:
            if version == 0 and not names:
                return None  # an empty SQLite file: nothing to lose, becomes a cache
            raise CacheRefusedError(
                f"The file {self.path} is a SQLite database but not an InvoiceDesk cache, and was left "
                "as it is. Move it away (InvoiceDesk then starts a new cache), then run the command again."
            )
        if version > len(_MIGRATIONS):
            return None  # _migrate_db says "written by a newer InvoiceDesk"
        if version < 1:
            return f"schema version {version}"
        missing = sorted(_OUR_TABLES - names)
        if missing:
            return f"the {', '.join(missing)} table is missing"
        if quick_check:
            rows = db.execute("PRAGMA quick_check(1)").fetchall()
            if rows != [("ok",)]:
                return _one_line(str(rows[0][0]) if rows else "") or "quick_check failed"
        return None

    def _create_new(self, path: Path, entries: Sequence[dict[str, Any]]) -> int:
        """Build a cache under a temporary name, then link it into place (never over a file).

        Returns how many unfinished journal entries it holds (``entries`` plus the journal file).
        """
        tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{threading.get_ident()}")
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        try:
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                _migrate_db(db, tmp)
                db.execute("BEGIN IMMEDIATE")
                _restore_entries(db, {int(e["id"]): e for e in entries})
                _restore_entries(db, self.journal_file.read())
                (unfinished,) = db.execute(
                    "SELECT count(*) FROM journal WHERE state NOT IN ('done', 'failed')"
                ).fetchone()
                db.execute("COMMIT")
            finally:
                db.close()
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another InvoiceDesk made it first: use theirs
            except OSError:
                if not path.exists():
                    os.rename(tmp, path)  # file systems without hard links
            fsync_folder(path.parent)
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        except OSError as exc:
            error = CacheFullError if exc.errno in FULL_ERRNOS else CacheReadOnlyError
            raise error(describe_folder_error(exc, self.folder)) from None
        finally:
            tmp.unlink(missing_ok=True)
        return int(unfinished)

    def _salvage_journal(self) -> list[dict[str, Any]]:
        """Every journal row that can still be read from the damaged file (best effort)."""
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error:
            return []
        try:
            try:
                return [_entry_dict(r) for r in db.execute(f"SELECT {_JOURNAL_COLS} FROM journal")]  # noqa: S608
            except sqlite3.Error:
                pass
            # A damaged page in the table: read row by row around it.
            try:
                (top,) = db.execute("SELECT max(id) FROM journal").fetchone()
            except sqlite3.Error:
                top = None
            known = max(self.journal_file.read(), default=0)
            out: list[dict[str, Any]] = []
            for entry_id in range(1, max(int(top or 0), known + 1000) + 1):
                try:
                    row = db.execute(_ONE_ENTRY, (entry_id,)).fetchone()
                except sqlite3.Error:
                    continue
                if row is not None:
                    out.append(_entry_dict(row))
            return out
        finally:
            db.close()

    def _set_aside(self, reason: str) -> CacheError:
        """Rescue the journal into a new cache, then rename the damaged file (never delete it)."""
        entries = self._salvage_journal()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        staging = self.path.with_name(f".{self.path.name}.rescued-{os.getpid()}")
        staging.unlink(missing_ok=True)
        unfinished = self._create_new(staging, entries)
        try:
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    os.rename(src, f"{kept}{suffix}")
            os.link(staging, self.path)
            fsync_folder(self.folder)
            self._damage_marker.unlink(missing_ok=True)
        except OSError as exc:
            raise CacheReadOnlyError(describe_folder_error(exc, self.folder)) from None
        finally:
            staging.unlink(missing_ok=True)
        carried = f"its {unfinished} unfinished actions were carried over"
        if unfinished == 1:
            carried = "its 1 unfinished action was carried over"
        elif unfinished == 0:
            carried = "no unfinished action was lost"
        return CacheSetAsideError(
            f"The cache {self.path} was damaged ({reason}). It is kept as {kept.name} and a new cache "
            f"was started; {carried}. Sync again to fill it."
        )

    # ------------------------------------------------------------------ plumbing

    def _translate(self, exc: sqlite3.Error) -> CacheError:
        """One sentence for a SQLite error: what is wrong, where, and what to do."""
        kind = _sqlite_kind(exc)
        if kind == "full":
            return CacheFullError(full_disk(self.folder))
        if kind == "readonly" or (kind == "cantopen" and not os.access(self.folder, os.W_OK)):
            return CacheReadOnlyError(cannot_write(self.folder, "read-only"))
        if kind == "busy":
            return CacheBusyError(
                f"The cache {self.path} is in use by another InvoiceDesk and was not free after "
                f"{self.busy_wait:g} s: let that sync or action finish (or close it), then run the "
                "command again."
            )
        if kind == "damaged":
            try:
                self._damage_marker.write_text(str(exc), encoding="utf-8")
            except OSError:
                pass
            return CacheDamagedError(
                f"The cache {self.path} is damaged ({_one_line(str(exc))}). Run the command again: "
                "InvoiceDesk will set the file aside (it is kept), carry its unfinished actions over "
                "to a new cache and ask for a sync."
            )
        if kind == "io":
            return CacheFullError(
                f"Could not write to {self.folder} (disk I/O error): its disk may be full or failing. "
                "Free some space or check the disk, then run the command again."
            )
        return CacheError(f"The cache {self.path} could not be used ({exc}).")

    def _retry_busy(self, step: Callable[[], T]) -> T:
        """Run ``step``; while another connection holds the write lock, keep trying up to ``busy_wait`` s.

        SQLite's busy timeout already waits inside each try; this loop makes the whole wait long
        (a sync's page write) without one endless call, and turns the end into a sentence.
        """
        deadline = time.monotonic() + self.busy_wait
        while True:
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if _sqlite_kind(exc) != "busy" or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _try_fts(self) -> bool:
        db = self._c.db
        try:
            with self._c.lock:
                exists = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'records_fts'").fetchone()
                triggers = db.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'records_a_'"
                ).fetchone()[0]
                if exists and triggers == 3:
                    return True  # no write lock needed to open a cache that has it
                rebuild = "" if exists else "INSERT INTO records_fts(records_fts) VALUES ('rebuild');"
                self._retry_busy(lambda: db.executescript(f"BEGIN IMMEDIATE; {_FTS} {rebuild} COMMIT;"))
            return True
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if _sqlite_kind(exc) in ("full", "readonly", "busy", "io"):
                raise
            return False

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._c.lock:
            db = self._c.db
            try:
                self._retry_busy(lambda: db.execute("BEGIN IMMEDIATE"))
            except sqlite3.Error as exc:
                raise self._translate(exc) from None
            try:
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise self._translate(exc) from None
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._c.lock:
            try:
                return self._retry_busy(lambda: self._c.db.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise self._translate(exc) from None

    def close(self) -> None:
        with self._c.lock:
            try:
                self._compact_journal_file()
            finally:
                self._c.db.close()

    def integrity_check(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])

    # ------------------------------------------------------------------ the journal file

    def _checkpointed(self) -> bool:
        """True once every WAL frame is in the database file (which SQLite then fsyncs)."""
        with self._c.lock:
            if self._c.db.in_transaction:
                return False
            busy, frames, done = self._c.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return bool(busy == 0 and frames == done)

    def _compact_journal_file(self) -> None:
        """Best effort: a failure here loses nothing (the file only grows)."""
        try:
            self.journal_file.compact(self._checkpointed)
        except (OSError, sqlite3.Error) as exc:
            log.info("journal file not compacted: %s", exc)

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
            for key in _restore_entries(db, stale):
                self._refresh_needs_in_tx(db, *key)

    def _mirror_journal(self, entry_id: int, *, starting: bool = False) -> None:
        """Append the entry's state to the journal file, fsync'd, before the caller acts on it.

        When ``starting`` (the intent of an action) cannot be written, the entry is closed as
        failed and the action refused: nothing was sent yet, and it must not be sent unrecorded.
        """
        with self._c.lock:
            row = self._c.db.execute(_ONE_ENTRY, (entry_id,)).fetchone()
            if row is None:
                return
            try:
                self.journal_file.append([_entry_dict(row)])
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
        if self.journal_file.size() > _COMPACT_AT:
            self._compact_journal_file()

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
        self._mirror_journal(entry_id)

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
