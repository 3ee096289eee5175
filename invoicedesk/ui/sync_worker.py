"""The sync, on a thread of its own so the window never waits for it.

A first sync parses and stores pages of 100 records: about 25 ms of parsing and 50-70 ms of
SQLite writing per page, which on the GUI thread froze the window for most of a second at a
time (benchmarks/ui.py measured stalls of 300-700 ms during a 10k + 10k sync). Here the
:class:`~invoicedesk.sync.Syncer` runs on a private asyncio loop in a worker thread, with its
own HTTP clients (created in that loop, as httpx requires) and its own connection to the cache
file (WAL: the window's reads never wait for the sync's writes). The GUI thread only gets
progress reports, handed over with ``call_soon_threadsafe``.

Nothing Qt runs on the worker thread.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from invoicedesk.cache import Cache
from invoicedesk.config import Config, SecretSource
from invoicedesk.services import Services
from invoicedesk.sync import Syncer, SyncProgress, SyncResult

log = logging.getLogger(__name__)


class SyncWorker:
    """Runs ``Syncer.sync_all`` on a worker thread; ``await worker.sync(...)`` from the GUI loop."""

    def __init__(self, template: Syncer, cache_path: Path) -> None:
        # The window's Syncer carries the settings (window, deep-check interval, concurrency);
        # the worker uses a copy wired to its own clients and cache connection.
        self._template = template
        self._cache_path = cache_path
        self._config: Config = template.services.config
        self._secrets: SecretSource = template.services.secrets
        self._data_dir: Path = template.services.data_dir
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._syncer: Syncer | None = None
        self._cache: Cache | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the thread

    def _ensure_thread(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None:
                return self._loop
            ready = threading.Event()
            holder: dict[str, asyncio.AbstractEventLoop] = {}

            def run() -> None:
                loop = asyncio.new_event_loop()
                # The sync hands its cache writes to the loop's executor; they are serialised
                # by the cache anyway, and every extra thread competes with the window for the GIL.
                loop.set_default_executor(ThreadPoolExecutor(1, thread_name_prefix="invoicedesk-cache"))
                asyncio.set_event_loop(loop)
                holder["loop"] = loop
                ready.set()
                try:
                    loop.run_forever()
                finally:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.close()

            self._thread = threading.Thread(target=run, name="invoicedesk-sync", daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = holder["loop"]
            return self._loop

    def _syncer_here(self) -> Syncer:
        """The worker's Syncer, built inside the worker loop (clients belong to that loop)."""
        if self._syncer is None:
            self._cache = Cache(self._cache_path)
            syncer = copy.copy(self._template)
            syncer.services = Services(self._config, self._secrets, self._data_dir)
            syncer.cache = self._cache
            self._syncer = syncer
        return self._syncer

    # ------------------------------------------------------------------ the GUI side

    async def sync(
        self, *, progress: Callable[[SyncProgress], None] | None = None, deep: bool = False
    ) -> list[SyncResult]:
        """Sync every account on the worker; progress is reported on the caller's loop.

        Cancelling the awaiting task cancels the sync on the worker (what was stored stays).
        """
        gui = asyncio.get_running_loop()
        worker = self._ensure_thread()

        def report(p: SyncProgress) -> None:
            if progress is not None and not gui.is_closed():
                gui.call_soon_threadsafe(progress, p)

        async def job() -> list[SyncResult]:
            return await self._syncer_here().sync_all(progress=report, deep=deep)

        future = asyncio.run_coroutine_threadsafe(job(), worker)
        return await asyncio.wrap_future(future)

    async def configure(self, config: Config, secrets: SecretSource) -> None:
        """New accounts: the next sync uses fresh clients for them."""
        await self._reset()
        self._config = config
        self._secrets = secrets

    async def _reset(self) -> None:
        if self._loop is None:
            return

        async def close() -> None:
            if self._syncer is not None:
                await self._syncer.services.aclose()
                self._syncer = None
            if self._cache is not None:
                self._cache.close()
                self._cache = None

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(close(), self._loop))

    async def close(self) -> None:
        """Close the worker's clients and cache, stop its loop and end the thread."""
        if self._loop is None:
            return
        try:
            await self._reset()
        finally:
            loop, thread = self._loop, self._thread
            self._loop = None
            self._thread = None
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=10)
                if thread.is_alive():
                    log.warning("the sync thread did not stop within 10 s")

    @property
    def running(self) -> bool:
        return self._loop is not None

    def __repr__(self) -> str:
        return f"SyncWorker(running={self.running})"


def quiet_gc() -> None:
    """Fewer, shorter garbage-collector pauses while a sync allocates heavily.

    A full collection stops every thread, the window's included, for as long as it takes to
    walk every live object: measured at 45-60 ms in a 10k + 10k first sync. Freezing what
    start-up created (modules, Qt wrappers, the first page) takes it out of those walks, and
    a higher first threshold makes collections rare; InvoiceDesk makes few reference cycles.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
