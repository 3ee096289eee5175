"""The journal's append-only copy beside the cache (``actions-journal.jsonl``), and restoring
entries from it into the journal table (at open, and into a new cache when a damaged one is
set aside)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoicedesk.cache.schema import CLOSED_STATES, JOURNAL_COLS
from invoicedesk.paths import fsync_folder

try:  # POSIX; elsewhere one process at a time appends (the GUI or the command line)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

COMPACT_AT = 256 * 1024
"""Bytes of journal file above which it is compacted after the next change."""

def entry_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A journal row as the JSON object the journal file holds (request/result decoded)."""
    names = [c.strip() for c in JOURNAL_COLS.split(",")]
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
            keep = [e for e in entries.values() if e["state"] not in CLOSED_STATES]
            if not self.path.exists() or (len(keep) == len(entries) and self.size() < COMPACT_AT):
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


def restore_entries(db: sqlite3.Connection, entries: dict[int, dict[str, Any]]) -> set[tuple[str, str, str]]:
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
            db.execute(f"INSERT INTO journal ({JOURNAL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
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
