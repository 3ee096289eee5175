"""Staff meet a full disk, a read-only folder or a damaged cache: one clear line, nothing lost.

Every story runs the real command line in a subprocess against the sandbox, on real files: a
2 MB tmpfs for a full disk (``RLIMIT_FSIZE`` in the child where mounting is not allowed), a tmpfs
remounted read-only (root ignores ``chmod``), random bytes written over pages of a real cache.
"""

from __future__ import annotations

import hashlib
import json
import random
import resource
import sqlite3
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from invoicedesk.cache import CACHE_FILE, JOURNAL_FILE, Cache
from invoicedesk.sandbox import Sandbox
from tests.cli_helpers import cli_env, invoicedesk_cmd, write_config
from tests.core_helpers import wait_until

PAGE = 4096


# ---------------------------------------------------------------------- helpers


def run(env: dict[str, str], *args: str, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(invoicedesk_cmd(*args), env=env, capture_output=True, text=True, timeout=180,
                          preexec_fn=limit if limit_bytes is not None else None)


def one_clean_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exactly one error line and no traceback; returns that line."""
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("invoicedesk: ")]
    assert len(errors) == 1, proc.stderr
    assert "OperationalError" not in errors[0] and "DatabaseError" not in errors[0], errors[0]
    return errors[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def integrity(path: Path) -> str:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def count(path: Path, sql: str) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def _mount(folder: Path, options: str) -> bool:
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, text=True)
    return proc.returncode == 0


def _umount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, int | None]]:
    """A 2 MB disk: a real tmpfs, else a 2 MB per-file size limit in the child (RLIMIT_FSIZE)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if _mount(folder, "size=2m,mode=0755"):
        yield folder, None
        _umount(folder)
    else:
        yield folder, 2 * 1024 * 1024


@pytest.fixture
def remountable(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs the test can remount read-only; without mount rights the read-only stories skip
    (as root, chmod cannot make a folder read-only, and nothing else can imitate EROFS)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if not _mount(folder, "size=64m"):
        pytest.skip("mounting a tmpfs is not permitted here: no read-only file system to test on")
    yield folder
    _umount(folder)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox(seed=61, orders=150, invoices=60, rate_limits=False)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def env_for(sb: Sandbox, tmp_path: Path) -> Callable[[Path], dict[str, str]]:
    config, secrets = write_config(sb, tmp_path)

    def make(data: Path) -> dict[str, str]:
        return cli_env(data, secrets, config)

    return make


@pytest.fixture(scope="module")
def synced_cache(sb: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache filled by a complete sync, copied by every story that damages one."""
    folder = tmp_path_factory.mktemp("synced")
    config, secrets = write_config(sb, folder)
    data = folder / "data"
    proc = run(cli_env(data, secrets, config), "sync")
    assert proc.returncode == 0, proc.stderr
    return data / CACHE_FILE


def copy_cache(src: Path, data: Path) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    dst = data / CACHE_FILE
    dst.write_bytes(src.read_bytes())
    return dst


def open_entry(data: Path, order_id: str = "1001", state: str = "invoiced") -> None:
    """An action interrupted half-way: the invoice exists, it is not attached yet."""
    cache = Cache.open(data)
    try:
        account = cache.sync_states()[0].account
        entry = cache.journal_begin("jumpseller", account, order_id, "invoice", {"kind": "invoice"})
        cache.journal_update(entry, state=state, result={"public_id": "INV-X", "url": "http://x"})
    finally:
        cache.close()


def damage_pages(path: Path, first: int, last: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    with path.open("r+b") as f:
        for page in range(first, last + 1):
            f.seek((page - 1) * PAGE)
            f.write(rng.randbytes(PAGE))


# ---------------------------------------------------------------------- full disk


def test_sync_onto_a_full_disk_keeps_whole_pages_and_names_the_disk(
    small_disk: tuple[Path, int | None], env_for: Callable[[Path], dict[str, str]]
) -> None:
    folder, limit = small_disk
    data = folder / "data"
    proc = run(env_for(data), "sync", "--full", limit_bytes=limit)
    line = one_clean_line(proc)
    assert str(folder) in line, line
    assert "is full" in line or "may be full" in line, line  # (tmp_path holds "full_disk")
    cache = data / CACHE_FILE
    assert integrity(cache) == "ok"
    assert count(cache, "SELECT count(*) FROM records") > 0, "the pages written before the disk filled are kept"


def test_invoicing_on_a_full_disk_sends_nothing_it_could_not_journal(
    tmp_path: Path, sb: Sandbox, env_for: Callable[[Path], dict[str, str]], synced_cache: Path
) -> None:
    folder = tmp_path / "full"
    folder.mkdir()
    if not _mount(folder, "size=8m"):
        pytest.skip("no tmpfs: the size-limit fallback is covered by the sync story")
    try:
        data = folder / "data"
        copy_cache(synced_cache, data)
        filler = folder / "filler"
        with filler.open("wb") as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        before = len(sb.invoices_created())
        line = one_clean_line(run(env_for(data), "invoice", "--all-pending"))
        assert "is full" in line and str(data) in line, line
        assert len(sb.invoices_created()) == before, "an invoice was made that no journal holds"
        filler.unlink()  # staff free some space: the same command now works
        assert integrity(data / CACHE_FILE) == "ok"
        again = run(env_for(data), "invoice", "--all-pending")
        assert "Traceback" not in again.stderr, again.stderr
        made = Counter((d["store"], str(d["order_id"])) for d in sb.invoices_created()[before:])
        assert made and max(made.values()) == 1
    finally:
        _umount(folder)


# ---------------------------------------------------------------------- read-only


def test_read_only_data_folder_says_cannot_write_and_changes_nothing(
    remountable: Path, env_for: Callable[[Path], dict[str, str]], synced_cache: Path
) -> None:
    data = remountable / "data"
    cache = copy_cache(synced_cache, data)
    open_entry(data)
    before = {p.name: digest(p) for p in data.iterdir() if p.is_file()}
    subprocess.run(["mount", "-o", "remount,ro", str(remountable)], check=True)
    for args in (["list"], ["sync"], ["invoice", "--all-pending"], ["export", "--format", "csv"]):
        line = one_clean_line(run(env_for(data), *args))
        assert f"Cannot write to {data}" in line, line
        assert "damaged" not in line and "Move it away" not in line, line
    assert {p.name: digest(p) for p in data.iterdir() if p.is_file()} == before
    assert cache.exists()


def test_a_data_folder_that_cannot_be_created_on_a_read_only_disk(
    remountable: Path, env_for: Callable[[Path], dict[str, str]]
) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(remountable)], check=True)
    line = one_clean_line(run(env_for(remountable / "new" / "data"), "list"))
    assert "Cannot write to" in line and str(remountable) in line, line


def test_data_folder_that_is_a_file_or_below_a_file(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]]
) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    line = one_clean_line(run(env_for(blocker), "list"))
    assert str(blocker) in line and "is a file" in line, line
    line = one_clean_line(run(env_for(blocker / "data"), "sync"))
    assert str(blocker) in line and "is a file" in line, line
    assert blocker.read_text() == "not a folder"


def test_an_export_file_that_cannot_be_written_is_one_line(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], synced_cache: Path
) -> None:
    data = tmp_path / "data"
    copy_cache(synced_cache, data)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    line = one_clean_line(run(env_for(data), "export", "--format", "csv", "--output", str(blocker / "out.csv")))
    assert str(blocker) in line, line


def test_a_cache_path_that_is_a_folder_is_refused(tmp_path: Path, env_for: Callable[[Path], dict[str, str]]) -> None:
    data = tmp_path / "data"
    (data / CACHE_FILE).mkdir(parents=True)
    line = one_clean_line(run(env_for(data), "list"))
    assert "is a folder" in line and str(data / CACHE_FILE) in line, line


# ---------------------------------------------------------------------- refused, never replaced


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty (0 bytes)"),
        (b"name,total\n1,2\n" * 200, "not a SQLite database"),
        (None, "not an InvoiceDesk cache"),
    ],
    ids=["zero-bytes", "text-file", "someone-elses-sqlite"],
)
def test_a_file_that_is_not_our_cache_is_refused_not_replaced(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], content: bytes | None, words: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    cache = data / CACHE_FILE
    if content is None:
        db = sqlite3.connect(cache)
        db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO photos (name) VALUES ('holiday')")
        db.commit()
        db.close()
    else:
        cache.write_bytes(content)
    before = digest(cache)
    for args in (["list"], ["sync"]):
        line = one_clean_line(run(env_for(data), *args))
        assert words in line and str(cache) in line and "Move it away" in line, line
    assert digest(cache) == before
    assert sorted(p.name for p in data.iterdir() if p.is_file() and not p.name.startswith(".")) == [CACHE_FILE]


# ---------------------------------------------------------------------- damaged, set aside


@pytest.mark.parametrize(
    ("command", "journal_file"),
    [(["list"], True), (["sync"], True), (["invoice", "--all-pending"], True),
     (["export", "--format", "json"], True), (["list"], False)],
    ids=["list", "sync", "invoice", "export", "list-rescued-from-the-table-alone"],
)
def test_random_bytes_over_pages_set_the_cache_aside_and_keep_unfinished_actions(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], synced_cache: Path, command: list[str],
    journal_file: bool,
) -> None:
    data = tmp_path / "data"
    cache = copy_cache(synced_cache, data)
    open_entry(data, "1002", "invoiced")
    if not journal_file:
        (data / JOURNAL_FILE).unlink()  # the rescue must read the damaged table itself
    assert cache.stat().st_size > 80 * PAGE
    damage_pages(cache, 50, 70)
    damaged = digest(cache)

    line = one_clean_line(run(env_for(data), *command))
    assert "was damaged" in line and "1 unfinished action was carried over" in line, line
    kept = [p for p in data.iterdir() if p.name.startswith(f"{CACHE_FILE}.damaged-")]
    assert len(kept) == 1 and kept[0].name in line
    assert digest(kept[0]) == damaged, "the damaged file is kept exactly as it was"

    again = run(env_for(data), "list", "--json")
    assert again.returncode == 0, again.stderr
    reopened = Cache.open(data)
    try:
        entries = reopened.journal(open_only=True)
    finally:
        reopened.close()
    assert [(e.record_id, e.state, e.result.get("public_id")) for e in entries] == [("1002", "invoiced", "INV-X")]


def test_a_cache_cut_in_half_is_set_aside(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], synced_cache: Path
) -> None:
    data = tmp_path / "data"
    cache = copy_cache(synced_cache, data)
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    line = one_clean_line(run(env_for(data), "sync"))
    assert "was damaged" in line and "no unfinished action was lost" in line, line
    assert run(env_for(data), "sync").returncode == 0, "the next sync fills the new cache"
    assert integrity(cache) == "ok"


@pytest.mark.parametrize("breakage", ["user_version_-5", "journal_dropped"])
def test_a_cache_with_a_broken_schema_is_set_aside_with_its_journal(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], synced_cache: Path, breakage: str
) -> None:
    data = tmp_path / "data"
    cache = copy_cache(synced_cache, data)
    open_entry(data, "1003", "pending")
    db = sqlite3.connect(cache)
    if breakage == "journal_dropped":
        db.execute("DROP TABLE journal")
    else:
        db.execute("PRAGMA user_version = -5")
    db.commit()
    db.close()
    line = one_clean_line(run(env_for(data), "list"))
    assert "was damaged" in line and "1 unfinished action was carried over" in line, line
    reopened = Cache.open(data)
    try:
        assert [(e.record_id, e.state) for e in reopened.journal()] == [("1003", "pending")]
    finally:
        reopened.close()


# ---------------------------------------------------------------------- the journal file


def test_journal_file_restores_entries_a_deleted_wal_took_and_stays_small(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cache = Cache.open(data)
    ids = [cache.journal_begin("jumpseller", "shop", str(1000 + i), "invoice", {"kind": "invoice"})
           for i in range(6)]
    for entry in ids[:5]:
        cache.journal_update(entry, state="invoiced", result={"public_id": f"P{entry}"})
    for entry in ids[:2]:
        cache.journal_update(entry, state="done")
    # The process dies: the WAL holds every commit, then someone deletes it.
    wal = data / f"{CACHE_FILE}-wal"
    snapshot = (data / CACHE_FILE).read_bytes()
    cache._c.db.close()
    (data / CACHE_FILE).write_bytes(snapshot)
    wal.unlink(missing_ok=True)
    (data / f"{CACHE_FILE}-shm").unlink(missing_ok=True)
    assert count(data / CACHE_FILE, "SELECT count(*) FROM journal") < 6, "the deleted WAL took entries"

    cache = Cache.open(data)
    states = {e.record_id: e.state for e in cache.journal()}
    assert states == {"1000": "done", "1001": "done", "1002": "invoiced", "1003": "invoiced",
                      "1004": "invoiced", "1005": "pending"}
    assert cache.journal(record_id="1003")[0].result == {"public_id": "P4"}
    # A new entry never reuses the id of a restored one.
    new = cache.journal_begin("jumpseller", "shop", "2000", "invoice", {})
    assert new > max(ids)
    cache.close()
    # Compacted at close: finished entries leave the file, unfinished ones stay.
    lines = [json.loads(x) for x in (data / JOURNAL_FILE).read_text().splitlines()]
    assert sorted({e["record_id"] for e in lines}) == ["1002", "1003", "1004", "1005", "2000"]


def test_a_torn_last_line_in_the_journal_file_loses_nothing_else(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cache = Cache.open(data)
    first = cache.journal_begin("jumpseller", "shop", "1", "invoice", {})
    with (data / JOURNAL_FILE).open("a") as f:
        f.write('{"id": 99, "source": "jumpsel')  # power cut mid-write
    second = cache.journal_begin("jumpseller", "shop", "2", "invoice", {})
    entries = cache.journal_file.read()
    assert sorted(entries) == [first, second]
    cache.close()


@pytest.mark.slow
def test_killed_invoicing_then_a_deleted_wal_never_invoices_an_order_twice(tmp_path: Path) -> None:
    sb = Sandbox(seed=67, orders=60, invoices=10, stores=1, rate_limits=False)
    sb.start()
    try:
        config, secrets = write_config(sb, tmp_path)
        data = tmp_path / "data"
        env = cli_env(data, secrets, config)
        assert run(env, "sync").returncode == 0
        # The invoice is made at once, its answer comes 1.5 s later: a kill lands in between.
        sb.inject("invoicing", "slow", delay=1.5)
        proc = subprocess.Popen(invoicedesk_cmd("invoice", "--all-pending"), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_until(lambda: len(sb.invoices_created()) >= 4 or proc.poll() is not None, 60)
        finally:
            proc.kill()
            proc.wait(timeout=30)
        made_before = len(sb.invoices_created())
        assert made_before >= 4
        cut_off = str(sb.invoices_created()[-1]["order_id"])
        wal = data / f"{CACHE_FILE}-wal"
        assert wal.exists() and wal.stat().st_size > 0, "the killed run's commits are in the WAL"
        wal.unlink()
        sb.clear_faults()

        rerun = run(env, "invoice", "--all-pending")
        assert "Traceback" not in rerun.stderr, rerun.stderr
        made = Counter(str(d["order_id"]) for d in sb.invoices_created())
        assert made and max(made.values()) == 1, [k for k, n in made.items() if n > 1]
        assert integrity(data / CACHE_FILE) == "ok"
        # The order whose answer the kill cut off waits for staff, and says so.
        rows = json.loads(run(env, "list", "--json").stdout)
        row = next(r for r in rows if r["id"] == cut_off)
        assert row["needs_action"] == "outcome_unknown", row
    finally:
        sb.stop()


# ---------------------------------------------------------------------- locked


def test_a_long_held_write_lock_is_waited_out_then_named_without_database_is_locked(tmp_path: Path) -> None:
    from invoicedesk.cache import CacheBusyError, SyncState

    data = tmp_path / "data"
    Cache.open(data).close()
    holder = sqlite3.connect(data / CACHE_FILE, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    cache = Cache(data / CACHE_FILE, busy_wait=0.3)
    try:
        with pytest.raises(CacheBusyError) as info:
            cache.put_sync_state(SyncState("shop", "jumpseller", cursor="1"))
        assert "locked" not in str(info.value) and "another InvoiceDesk" in str(info.value)
        # Released while we wait: the write goes through.
        cache.busy_wait = 10.0
        threading.Timer(0.2, lambda: holder.execute("COMMIT")).start()
        cache.put_sync_state(SyncState("shop", "jumpseller", cursor="2"))
        assert cache.sync_state("shop", "jumpseller").cursor == "2"
    finally:
        cache.close()
        holder.close()


def test_an_action_whose_intent_cannot_be_journaled_is_refused_and_does_not_block_the_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from invoicedesk.cache import CacheFullError, JournalFile

    cache = Cache.open(tmp_path / "data")
    try:
        def full(self: JournalFile, entries: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

        monkeypatch.setattr(JournalFile, "append", full)
        with pytest.raises(CacheFullError) as info:
            cache.journal_begin("jumpseller", "shop", "1001", "invoice", {})
        assert str(tmp_path / "data") in str(info.value) and "full" in str(info.value)
        assert [e.state for e in cache.journal(record_id="1001")] == ["failed"]
        monkeypatch.undo()
        # Space is back: the same action can start (nothing is left open in its way).
        assert cache.journal_begin("jumpseller", "shop", "1001", "invoice", {}) > 0
    finally:
        cache.close()
