"""The app starts against the sandbox, shows its connections, and quits without noise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NOISE = (
    "Task was destroyed",
    "Event loop is closed",
    "Traceback",
    "never awaited",
    "Unclosed",
    "QThread: Destroyed",
)


def test_demo_window_starts_and_quits_cleanly(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INVOICEDESK_DATA_DIR=str(tmp_path / "d"))
    proc = subprocess.run(
        [sys.executable, "-m", "invoicedesk", "--demo", "--exit-after", "60", "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for word in NOISE:
        assert word not in proc.stderr, proc.stderr
    assert shot.exists() and shot.stat().st_size > 5000


def _window(services, tmp_path: Path, **kw):
    from invoicedesk.actions import Actions
    from invoicedesk.cache import Cache
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.main_window import MainWindow

    cache = Cache.open(tmp_path)
    return MainWindow(services, cache, Syncer(services, cache), Actions(services, cache), **kw), cache


def test_window_shows_each_account_connected(qtbot, qrun, sandbox_session, tmp_path: Path) -> None:
    from invoicedesk.demo import demo_config
    from invoicedesk.services import Services

    config, secrets = demo_config(sandbox_session)
    services = Services(config, secrets, tmp_path)
    window, cache = _window(services, tmp_path, demo=True, sync_on_start=False)
    qtbot.addWidget(window)
    window.show()
    qrun(window.ready())
    states = {s.name: s for s in window.controller.states()}
    assert set(states) == {a.name for a in config.accounts}
    assert all(s.online for s in states.values()), states
    assert "Online" in window.online_indicator.text()
    assert all(name in window.online_indicator.toolTip() for name in states)
    assert window.demo_banner.isVisible()
    assert "Demo data" in window.windowTitle()
    qrun(window.shutdown())
    qrun(services.aclose())
    cache.close()


def test_wrong_token_is_shown_as_a_failed_connection(qtbot, qrun, sandbox_session, tmp_path: Path) -> None:
    from invoicedesk.demo import demo_config
    from invoicedesk.services import Services

    config, secrets = demo_config(sandbox_session)
    first = config.jumpseller[0]
    secrets.set(first.token_key, "not-the-token")
    services = Services(config, secrets, tmp_path)
    window, cache = _window(services, tmp_path, sync_on_start=False)
    qtbot.addWidget(window)
    qrun(window.ready())
    state = window.controller.state(first.name)
    assert state is not None and state.online is False
    assert first.name in state.message
    assert "not-the-token" not in state.message
    assert "not-the-token" not in window.online_indicator.toolTip()
    others = len(config.accounts) - 1
    assert f"{others} of {len(config.accounts)} accounts online" in window.online_indicator.text()
    assert not window.demo_banner.isVisible()
    qrun(window.shutdown())
    qrun(services.aclose())
    cache.close()


def _filled_cache(folder: Path, orders: int) -> Path:
    from invoicedesk.cache import Cache
    from invoicedesk.domain import parse_order
    from invoicedesk.sandbox import Sandbox

    sb = Sandbox(seed=7, orders=orders, invoices=1, stores=1)
    store = sb.stores[0].login
    cache = Cache.open(folder)
    cache.upsert([parse_order(body, account=store) for body in sb.truth_orders(store)])
    path = cache.path
    cache.close()
    return path


def test_a_cache_damaged_while_closed_is_found_after_the_list_paints(tmp_path: Path) -> None:
    """The window opens its cache without the slow check and checks it once the list shows: a
    damaged file is set aside (kept, its journal carried over), said in one sentence, and the
    next start opens a new cache."""
    import random

    from invoicedesk.cache.schema import DAMAGED_SUFFIX

    data = tmp_path / "d"
    path = _filled_cache(data, 1500)
    page = 4096
    assert path.stat().st_size > 120 * page
    rng = random.Random(5)
    with path.open("r+b") as f:
        for n in range(60, 100):
            f.seek((n - 1) * page)
            f.write(rng.randbytes(page))
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INVOICEDESK_DATA_DIR=str(data),
               INVOICEDESK_CONFIG=str(tmp_path / "config.toml"))

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "invoicedesk", "--exit-after", "60"],
                              capture_output=True, text=True, timeout=120, env=env)

    first = run()
    assert first.returncode == 1, first.stderr
    assert "was damaged" in first.stderr and "It is kept as" in first.stderr, first.stderr
    assert "Open InvoiceDesk again" in first.stderr, first.stderr
    assert "Traceback" not in first.stderr, first.stderr
    kept = [p for p in data.iterdir()
            if p.name.startswith(f"{path.name}.damaged-") and not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and kept[0].name in first.stderr
    assert not path.with_name(path.name + DAMAGED_SUFFIX).exists()

    second = run()
    assert second.returncode == 0, second.stderr
    assert "damaged" not in second.stderr, second.stderr


def _children_of_data_dir(data: Path) -> list[int]:
    """Processes still running with ``data`` as their data folder (the window's sync child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"INVOICEDESK_DATA_DIR={data}".encode() in environ:
            found.append(int(entry.name))
    return found


def test_quitting_during_a_sync_stops_the_child_and_exits_cleanly(tmp_path: Path) -> None:
    """Staff close the window while the store answers slowly: the sync child is stopped, not
    waited for, the process exits 0 without noise, and what the sync stored stays readable."""
    import re

    from invoicedesk.cache import Cache
    from invoicedesk.sandbox import Sandbox
    from tests.cli_helpers import write_config

    data = tmp_path / "d"
    _filled_cache(data, 300)
    with Sandbox(seed=6, orders=40, invoices=40, stores=1, sellers=1, rate_limits=False) as sb:
        sb.inject("jumpseller", "latency", delay=5.0)  # every store request outlasts the quit
        config, secrets = write_config(sb, tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JS_", "MP_"))}
        env.update(secrets, QT_QPA_PLATFORM="offscreen", INVOICEDESK_DATA_DIR=str(data),
                   INVOICEDESK_CONFIG=str(config))
        proc = subprocess.run([sys.executable, "-m", "invoicedesk", "--quit-after", "3"],
                              capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    for word in NOISE:
        assert word not in proc.stderr, proc.stderr
    line = re.search(r"quit-requested epoch=[\d.]+ sync-running=(\d)", proc.stderr)
    assert line and line.group(1) == "1", proc.stderr
    assert _children_of_data_dir(data) == [], "no sync child outlives the window"
    cache = Cache.open(data)
    try:
        assert cache.count() >= 300
    finally:
        cache.close()


def test_a_query_still_running_at_quit_is_dropped_not_waited_for(tmp_path: Path) -> None:
    """The window's counting connection is interrupted at quit: a slow count ends at once."""
    import sqlite3
    import threading

    from invoicedesk.cache import Cache, CacheError

    cache = Cache.open(tmp_path)
    outcome: list[BaseException | int] = []
    started = threading.Event()

    def endless_count() -> None:
        started.set()
        try:
            rows = cache._read(  # a query with no natural end (it would count to 10**12)
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000000) "
                "SELECT count(*) FROM n"
            )
            outcome.append(int(rows[0][0]))
        except (CacheError, sqlite3.Error) as exc:
            outcome.append(exc)

    worker = threading.Thread(target=endless_count)
    worker.start()
    started.wait()
    while not outcome and worker.is_alive():
        cache.interrupt()  # until the query is under way
        worker.join(0.05)
    worker.join(30)
    assert not worker.is_alive()
    assert outcome and isinstance(outcome[0], CacheError | sqlite3.Error), outcome
    assert "interrupted" in str(outcome[0])
    assert cache.count() == 0, "the connection still answers afterwards"
    cache.close()
