"""Several connections on one cache file, in several processes, while a sync fills it.

The window holds the cache open all day; a thread of the window opens a second connection to
count the list; the sync runs in a child process and writes page after page; later syncs and
other InvoiceDesk processes open and close the same file. None of that may ever make a sound
cache look damaged, and a cache that is sound is never set aside.

Every writer and reader here is real: child processes started with ``subprocess``, threads, and
one SQLite file on disk; the records come from the sandbox's payloads through the real parsers.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from invoicedesk.cache import CACHE_FILE, Cache, CacheError, Query
from invoicedesk.domain import Invoice, Order, parse_invoice, parse_order

ROOT = Path(__file__).resolve().parents[1]
ORDERS = INVOICES = 40
PAGE = 10


def sandbox_records() -> list[Order | Invoice]:
    """The same records in every process: a seeded sandbox's payloads through the real parsers."""
    from invoicedesk.sandbox import Sandbox

    sb = Sandbox(seed=5, orders=ORDERS, invoices=INVOICES, stores=1, sellers=1)
    login, seller = sb.stores[0].login, sb.sellers[0].name
    records: list[Order | Invoice] = [parse_order(b, account=login) for b in sb.truth_orders(login)]
    records += [parse_invoice(r, [], account=seller, currency="AUD") for r in sb.truth_invoices(seller)]
    return records


def write_pages(path: Path, start: int, stop: int) -> None:
    """What a sync child does to the cache: open it, store pages, close it (run in a child)."""
    records = sandbox_records()[start:stop]
    cache = Cache(path)
    try:
        for first in range(0, len(records), PAGE):
            cache.upsert(records[first : first + PAGE])
    finally:
        cache.close()


def open_count_search_close(path: Path, rounds: int) -> None:
    """What another InvoiceDesk does now and then: open, count, search, close (run in a child)."""
    for _ in range(rounds):
        cache = Cache(path)
        try:
            cache.count()
            cache.count(Query(search="example"))
        finally:
            cache.close()


def child(function: str, *args: object) -> subprocess.Popen[str]:
    """Start ``function(*args)`` of this module in a new Python process."""
    code = (
        "import sys; from pathlib import Path; import test_cache_race as t; "
        f"t.{function}(Path(sys.argv[1]), *map(int, sys.argv[2:]))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(procs: Sequence[subprocess.Popen[str]]) -> None:
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]


def set_aside(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".damaged" in p.name)


def integrity(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def in_a_thread(work: Callable[[], object]) -> object:
    """Run ``work`` on a thread of its own, as the window's counting thread does."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:  # handed back to the test
            out.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def test_the_window_keeps_seeing_every_page_syncs_write_while_its_count_thread_opens_a_second_connection(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    records = sandbox_records()
    total = len(records)
    window = Cache.open(folder)  # the window opens a fresh cache
    try:
        window.upsert(records[:PAGE])
        # The counting thread opens its own connection to the same file, as Controller.count does.
        counter = in_a_thread(lambda: Cache(window.path))
        assert isinstance(counter, Cache)
        try:
            assert in_a_thread(counter.count) == PAGE
            # A sync child fills the cache and closes, then a later sync does it again.
            finish([child("write_pages", window.path, PAGE, total // 2)])
            assert window.count() == total // 2
            finish([child("write_pages", window.path, total // 2, total)])
            assert window.count() == total, "the window must see what the sync wrote"
            assert in_a_thread(counter.count) == total
            assert window.count(Query(search="example")) == window.count(Query(search="EXAMPLE")) > 0
            window.upsert(records[:PAGE])  # the window still writes to the same file
        finally:
            counter.close()
        again = Cache(window.path)
        try:
            assert again.count() == total
        finally:
            again.close()
        assert set_aside(folder) == []
    finally:
        window.close()
    assert integrity(folder / CACHE_FILE) == "ok"


def test_a_sync_child_and_other_processes_never_make_the_windows_cache_look_damaged(tmp_path: Path) -> None:
    """The story as staff live it, many times over: a window with a long-lived connection and a
    counting thread that opens, counts, searches and closes its own; a sync child filling a fresh
    cache; another InvoiceDesk opening and closing the same file."""
    folder = tmp_path / "data"
    records = sandbox_records()
    total = len(records)
    window = Cache.open(folder)
    errors: list[BaseException] = []
    stop = threading.Event()

    def count_thread() -> None:
        while not stop.is_set():
            try:
                reader = Cache(window.path)
                try:
                    reader.count()
                    reader.count(Query(search="example"))
                finally:
                    reader.close()
            except CacheError as exc:
                errors.append(exc)
                return

    thread = threading.Thread(target=count_thread)
    thread.start()
    try:
        for start in range(0, total, total // 4):
            procs = [
                child("write_pages", window.path, start, start + total // 4),
                child("open_count_search_close", window.path, 5),
            ]
            finish(procs)
            try:
                assert window.count() == start + total // 4
                window.count(Query(search="example"))
            except CacheError as exc:
                errors.append(exc)
                break
    finally:
        stop.set()
        thread.join(60)
    try:
        assert not errors, errors[0]
        assert set_aside(folder) == []
        assert window.count() == total
    finally:
        window.close()
    again = Cache.open(folder)
    try:
        assert again.count() == total
    finally:
        again.close()
    assert set_aside(folder) == []


# ---------------------------------------------------------------------- the verdict, checked again


def filled(folder: Path) -> tuple[Path, int]:
    """A closed cache holding the sandbox records and one unfinished action."""
    records = sandbox_records()
    cache = Cache.open(folder)
    try:
        for first in range(0, len(records), PAGE):
            cache.upsert(records[first : first + PAGE])
        cache.journal_begin("jumpseller", records[0].account, str(records[0].id), "invoice", {})
    finally:
        cache.close()
    return folder / CACHE_FILE, len(records)


def test_one_failed_read_never_sets_a_sound_cache_aside_and_the_search_index_is_rebuilt(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    path, total = filled(folder)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO records_fts(records_fts) VALUES ('delete-all')")  # the index lost its rows
    db.commit()
    db.close()
    # A read failed as "malformed" once and left its mark for the next opening.
    marker = folder / f"{CACHE_FILE}.damaged"
    marker.write_text("database disk image is malformed", encoding="utf-8")

    cache = Cache(path)
    try:
        assert cache.count() == total
        assert cache.count(Query(search="example")) > 0, "the search index is rebuilt from the records"
        assert len(cache.journal(open_only=True)) == 1
    finally:
        cache.close()
    assert not marker.exists()
    assert set_aside(folder) == []


def test_a_cache_that_stays_damaged_when_checked_again_is_still_set_aside(tmp_path: Path) -> None:
    from invoicedesk.cache import CacheSetAsideError

    folder = tmp_path / "data"
    path, _total = filled(folder)
    size = path.stat().st_size
    with path.open("r+b") as f:  # random bytes over the second half of the pages
        f.seek(size // 2)
        f.write(random.Random(5).randbytes(size - size // 2))
    (folder / f"{CACHE_FILE}.damaged").write_text("database disk image is malformed", encoding="utf-8")

    try:
        Cache(path).close()
    except CacheSetAsideError as exc:
        assert "1 unfinished action was carried over" in str(exc), exc
    else:
        raise AssertionError("a damaged cache must be set aside")
    assert len(set_aside(folder)) == 1
    reopened = Cache(path)
    try:
        assert reopened.count() == 0 and len(reopened.journal(open_only=True)) == 1
    finally:
        reopened.close()
