"""Shared fixtures: a real sandbox server on 127.0.0.1, a running qasync loop, a data folder."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Hypothesis draws new examples on every run: right on a desk, where each run may find a new
# counterexample (pin it with @example), wrong in CI, where a submission once failed by
# chance. With CI set (to anything, as Hypothesis itself reads it), every test runs a fixed
# set of examples seeded from the test itself, with no example database and no deadline (two
# shared cores). Recent Hypothesis versions ship a similar "ci" profile; ours is spelled out
# so the suite does not depend on which version is installed.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
if "CI" in os.environ:
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[object]:
    """One sandbox for the whole run (read-mostly tests); default demo size."""
    from invoicedesk.sandbox import Sandbox

    sb = Sandbox(seed=7)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def sandbox() -> Iterator[object]:
    """A fresh sandbox per test, for tests that change state, advance the clock or inject faults."""
    from invoicedesk.sandbox import Sandbox

    sb = Sandbox(seed=11, orders=120, invoices=120)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away data folder; nothing a test does touches the real user's folders."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("INVOICEDESK_DATA_DIR", str(d))
    return d


@pytest.fixture
def arun():
    """Run a coroutine to completion in a plain asyncio loop (core tests without Qt)."""
    loop = asyncio.new_event_loop()

    def run(coro, timeout: float = 30.0):
        # WORKAROUND: a qasync loop made with already_running=True (the `qloop` fixture) stays
        # registered as asyncio's running loop for the rest of the session; a plain loop refuses
        # to run while another is registered. Step it aside for the duration of this run.
        outer = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, timeout))
        finally:
            asyncio.events._set_running_loop(outer)

    yield run
    outer = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    finally:
        asyncio.events._set_running_loop(outer)


@pytest.fixture(scope="session")
def qloop(qapp):
    """A qasync loop marked running inside pytest-qt's QApplication (see STYLE.md)."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    # The app closes its loop (and so its worker threads) at quit; this session-wide loop never
    # closes, so give it an executor we shut down ourselves: a QThread still running when the
    # interpreter exits aborts the process ("QThread: Destroyed while thread is still running").
    executor = qasync.QThreadExecutor(2)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    executor.shutdown(wait=True)


@pytest.fixture
def qrun(qtbot, qloop):
    """Run a coroutine on the qasync loop while Qt keeps processing events."""

    def run(coro, timeout: int = 15000):
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=timeout)
        return task.result()

    yield run
    left = [t for t in asyncio.all_tasks(qloop) if not t.done()]
    for t in left:
        t.cancel()
    if left:
        qtbot.waitUntil(lambda: all(t.done() for t in left))
