"""Opening the cache file safely: refuse what is not ours, build a new cache atomically, set a
damaged one aside with its journal rescued, and turn every SQLite or OS failure into one
:class:`~invoicedesk.cache.errors.CacheError` sentence. Also the plumbing every query uses:
transactions that wait out another writer, and reads.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from invoicedesk.cache.errors import (
    CacheBusyError,
    CacheDamagedError,
    CacheError,
    CacheFullError,
    CacheReadOnlyError,
    CacheRefusedError,
    CacheSetAsideError,
)
from invoicedesk.cache.journal_file import JournalFile, entry_dict, restore_entries
from invoicedesk.cache.schema import (
    DAMAGED_SUFFIX,
    FTS,
    JOURNAL_COLS,
    JOURNAL_FILE,
    MIGRATIONS,
    ONE_ENTRY,
    OUR_TABLES,
    SQLITE_MAGIC,
    migrate_db,
    short_line,
    sqlite_kind,
)
from invoicedesk.cache.values import Connection
from invoicedesk.paths import (
    FULL_ERRNOS,
    cannot_write,
    describe_folder_error,
    ensure_writable_folder,
    fsync_folder,
    full_disk,
)

# Every part logs as "invoicedesk.cache", the name support filters the log file by.
log = logging.getLogger("invoicedesk.cache")
T = TypeVar("T")
SQLITE_NOTADB = 26


def quick_check(path: Path) -> str | None:
    """SQLite's ``quick_check`` on a read-only connection of its own: ``None`` when sound, else why.

    The window opens its cache without this check (it costs about 0.2 s at 100,000 records,
    more on a busy disk) and runs it here, in a worker thread, once the list has painted;
    its own connection never holds the lock the window's reads take. The command line
    checks at open (``Cache.open``).
    """
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        return None if sqlite_kind(exc) != "damaged" else short_line(str(exc))
    try:
        rows = db.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.Error as exc:
        if sqlite_kind(exc) != "damaged":
            return None  # busy, gone, unreadable: not a verdict on the file; the next open checks
        return short_line(str(exc)) or "quick_check failed"
    finally:
        db.close()
    if rows == [("ok",)]:
        return None
    return short_line(str(rows[0][0]) if rows else "") or "quick_check failed"


class CacheFile:
    """An open cache file, checked and migrated; :class:`~invoicedesk.cache.Cache` adds the rest."""

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
        if damage is not None and self._confirm_damage(damage) is None:
            self._damage_marker.unlink(missing_ok=True)  # one failed read, not a damaged file
            damage = None
        if not path.exists():
            self._create_new(path, [])
        db: sqlite3.Connection | None = None
        if damage is None:
            try:
                db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
                self._c = Connection(db)
                db.execute(f"PRAGMA busy_timeout={int(min(busy_wait, 10.0) * 1000)}")
                damage = self._check_ours(db, check)  # before anything writes to the file
                if damage is None:
                    self._retry_busy(lambda: db.execute("PRAGMA journal_mode=WAL"))
                    db.execute("PRAGMA synchronous=NORMAL")
                    self._retry_busy(lambda: migrate_db(db, path))
                    self.has_fts = self._try_fts()
            except sqlite3.Error as exc:
                if sqlite_kind(exc) != "damaged":
                    if db is not None:
                        db.close()
                    raise self._translate(exc) from None
                damage = short_line(str(exc))
            except CacheError:
                if db is not None:
                    db.close()
                raise
        if damage is not None:
            if db is not None:
                db.close()
            if self._confirm_damage(damage) is None:
                raise CacheError(
                    f"The cache {path} could not be read just now ({damage}); it checks sound and was "
                    "left as it is. Run the command again."
                )
            raise self._set_aside(damage)
        assert db is not None

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
            empty = path.stat().st_size == 0
            head = SQLITE_MAGIC if empty or self._sqlite_reads_it() else self._read_head()
        except OSError as exc:
            raise CacheReadOnlyError(describe_folder_error(exc, self.folder)) from None
        if empty:
            raise CacheRefusedError(
                f"The cache {path} is empty (0 bytes), so it is not an InvoiceDesk cache and was left "
                "as it is. Move it away (InvoiceDesk then starts a new cache and keeps its journal "
                "of actions), then run the command again."
            )
        if head != SQLITE_MAGIC:
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

    def _sqlite_reads_it(self) -> bool:
        """Whether SQLite opens the file as a database, asked of SQLite itself.

        The header is never read with a plain ``open()`` first: closing any descriptor of a file
        drops every POSIX lock this process holds on it, including the shared lock that the
        window's own connection keeps on the cache. Without that lock another process's last
        ``close`` believes it is alone, checkpoints and deletes the ``-wal`` and ``-shm`` files
        under the window's feet: the window then stops seeing what a sync writes, or reads pages
        of two generations and reports the cache "malformed", and a sound cache is set aside.
        SQLite keeps its own descriptors open while a lock is held, so asking it is safe.
        """
        try:
            # mode=rw: never create the file (another process may just be setting it aside)
            uri = f"{self.path.absolute().as_uri()}?mode=rw"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10)
        except sqlite3.Error:
            return True  # the real connection says what is wrong, in a sentence
        try:
            db.execute("PRAGMA schema_version")
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            return not (isinstance(code, int) and code & 0xFF == SQLITE_NOTADB)
        finally:
            db.close()
        return True

    def _read_head(self) -> bytes:
        """The first bytes of a file SQLite refused as a database (so no connection here uses it)."""
        with self.path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC))

    @property
    def _damage_marker(self) -> Path:
        return self.path.with_name(self.path.name + DAMAGED_SUFFIX)

    def _check_ours(self, db: sqlite3.Connection, quick_check: bool) -> str | None:
        """Refuse someone else's SQLite file; say why ours is damaged, or ``None``."""
        (version,) = db.execute("PRAGMA user_version").fetchone()
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        ours = bool(names & OUR_TABLES)
        if not ours:
            if version == 0 and not names:
                return None  # an empty SQLite file: nothing to lose, becomes a cache
            raise CacheRefusedError(
                f"The file {self.path} is a SQLite database but not an InvoiceDesk cache, and was left "
                "as it is. Move it away (InvoiceDesk then starts a new cache), then run the command again."
            )
        if version > len(MIGRATIONS):
            return None  # migrate_db says "written by a newer InvoiceDesk"
        if version < 1:
            return f"schema version {version}"
        missing = sorted(OUR_TABLES - names)
        if missing:
            return f"the {', '.join(missing)} table is missing"
        if quick_check:
            rows = db.execute("PRAGMA quick_check(1)").fetchall()
            if rows != [("ok",)]:
                return short_line(str(rows[0][0]) if rows else "") or "quick_check failed"
        return None

    def _confirm_damage(self, reason: str) -> str | None:
        """Check a verdict of damage again on a fresh connection before the file is set aside.

        A verdict can come from one failed read (the marker next to the cache) or from one step
        of opening, while other processes write, checkpoint and open the same file. Setting a
        sound cache aside loses the list staff look at (the window and the sync would work on
        different files), so the file must fail SQLite's ``quick_check`` twice, a moment apart.
        When it passes, the records are sound and the search index is rebuilt from them (what
        a failed search may have met); only a rebuild that fails as damaged confirms the verdict.
        Returns why the file is damaged, or ``None`` when it is sound.
        """
        for attempt in range(2):
            if attempt:
                time.sleep(0.2)
            try:
                db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
                try:
                    damage = self._check_ours(db, True)
                finally:
                    db.close()
            except sqlite3.Error as exc:
                if sqlite_kind(exc) != "damaged":
                    return None  # busy, full, read-only: not a verdict of damage
                damage = short_line(str(exc))
            if damage is None:
                break
        else:
            return damage or reason
        log.warning("the cache looked damaged (%s) but checks sound: kept", reason)
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            try:
                if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'records_fts'").fetchone():
                    rebuild = "INSERT INTO records_fts(records_fts) VALUES ('rebuild');"
                    self._retry_busy(lambda: db.executescript(f"BEGIN IMMEDIATE; {rebuild} COMMIT;"))
            finally:
                db.close()
        except sqlite3.Error as exc:
            if sqlite_kind(exc) == "damaged":
                return short_line(str(exc))
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
                migrate_db(db, tmp)
                db.execute("BEGIN IMMEDIATE")
                restore_entries(db, {int(e["id"]): e for e in entries})
                restore_entries(db, self.journal_file.read())
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
                return [entry_dict(r) for r in db.execute(f"SELECT {JOURNAL_COLS} FROM journal")]  # noqa: S608
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
                    row = db.execute(ONE_ENTRY, (entry_id,)).fetchone()
                except sqlite3.Error:
                    continue
                if row is not None:
                    out.append(entry_dict(row))
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
        kind = sqlite_kind(exc)
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
                f"The cache {self.path} is damaged ({short_line(str(exc))}). Run the command again: "
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
                if sqlite_kind(exc) != "busy" or time.monotonic() >= deadline:
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
                self._retry_busy(lambda: db.executescript(f"BEGIN IMMEDIATE; {FTS} {rebuild} COMMIT;"))
            return True
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if sqlite_kind(exc) in ("full", "readonly", "busy", "io"):
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

    def interrupt(self) -> None:
        """Abort the query this connection is running, from any thread (quitting never waits on one).

        The query raises ``sqlite3.OperationalError("interrupted")`` in its own thread; a
        write transaction it was in rolls back whole.
        """
        self._c.db.interrupt()

    def integrity_check(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])

    def mark_damaged(self, reason: str) -> None:
        """Note that this file is damaged: the next open sets it aside (journal rescued, file kept)."""
        try:
            self._damage_marker.write_text(reason or "damaged", encoding="utf-8")
        except OSError as exc:
            log.warning("could not note the damaged cache %s: %s", self.path, exc)

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
