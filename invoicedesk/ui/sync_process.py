"""The window's sync: ``invoicedesk sync --feed`` in a child process, read through QProcess.

See ``invoicedesk.sync_feed`` for why a process and what goes in and out. The GUI thread only
reads short JSON lines as they arrive (QProcess signals, no polling); the list refreshes from
the cache file the child writes. Cancelling the awaiting task stops the child (SIGTERM, then
SIGKILL after a grace period): what it had stored stays, since every page is one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment

from invoicedesk.config import Config, SecretSource
from invoicedesk.sync import SyncProgress, SyncResult
from invoicedesk.sync_feed import feed, invoicedesk_command, parse_line

log = logging.getLogger(__name__)

STOP_GRACE_MS = 3000
KILLED_WAIT_MS = 1000  # a killed child is gone in milliseconds; this only reaps it


class SyncProcess(QObject):
    """Runs one sync at a time in a child process; ``await sync(...)`` from the GUI loop."""

    def __init__(
        self, config: Config, secrets: SecretSource, data_dir: Path, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._config = config
        self._secrets = secrets
        self._data_dir = data_dir
        self._proc: QProcess | None = None

    async def sync(
        self, *, progress: Callable[[SyncProgress], None] | None = None, deep: bool = False
    ) -> list[SyncResult]:
        """Sync every account; progress is reported as the child sends it."""
        if self._proc is not None:
            raise RuntimeError("a sync is already running")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        proc = QProcess(self)
        self._proc = proc
        env = QProcessEnvironment.systemEnvironment()
        env.insert("INVOICEDESK_DATA_DIR", str(self._data_dir))
        env.insert("PYTHONUNBUFFERED", "1")
        proc.setProcessEnvironment(env)
        results: list[SyncResult] = []
        errors: list[str] = []
        buffer = bytearray()

        def read_out() -> None:
            buffer.extend(bytes(proc.readAllStandardOutput().data()))
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                item = parse_line(line)
                if isinstance(item, SyncProgress):
                    if progress is not None:
                        progress(item)
                elif isinstance(item, list):
                    results[:] = item

        def read_err() -> None:
            text = bytes(proc.readAllStandardError().data()).decode("utf-8", "replace")
            errors.extend(line for line in text.splitlines() if line.strip())

        def finished(*_args: object) -> None:
            if not done.done():
                done.set_result(None)

        def failed(error: QProcess.ProcessError) -> None:
            if error == QProcess.ProcessError.FailedToStart:
                finished()

        proc.readyReadStandardOutput.connect(read_out)
        proc.readyReadStandardError.connect(read_err)
        proc.finished.connect(finished)
        proc.errorOccurred.connect(failed)
        program, args = invoicedesk_command("sync", "--feed", *(["--deep"] if deep else []))
        proc.start(program, args)
        proc.write(feed(self._config, self._secrets))
        proc.closeWriteChannel()
        try:
            await done
        except asyncio.CancelledError:
            await self._stop(proc, done)
            raise
        finally:
            self._proc = None
            read_out()
            read_err()
            proc.deleteLater()
        if results:
            return results
        why = errors[-1].removeprefix("invoicedesk: ") if errors else self._exit_text(proc)
        log.warning("the sync process ended without results: %s", why)
        return [SyncResult(a.name, a.source, error=f"Sync failed: {why}") for a in self._config.accounts]

    @staticmethod
    def _exit_text(proc: QProcess) -> str:
        if proc.error() == QProcess.ProcessError.FailedToStart:
            return "the sync could not be started."
        return f"the sync stopped unexpectedly (exit status {proc.exitCode()})."

    async def _stop(self, proc: QProcess, done: asyncio.Future[None]) -> None:
        """Stop the child: ask first, then insist. Never leaves it running."""
        if proc.state() == QProcess.ProcessState.NotRunning:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(asyncio.shield(done), STOP_GRACE_MS / 1000)
        except (TimeoutError, asyncio.CancelledError):
            proc.kill()
            proc.waitForFinished(STOP_GRACE_MS)

    async def configure(self, config: Config, secrets: SecretSource) -> None:
        """New accounts: the next sync uses them."""
        self._config = config
        self._secrets = secrets

    async def close(self) -> None:
        """Stop a sync still running at once (quitting never leaves a child behind, nor waits for it).

        SIGKILL, not SIGTERM and a grace period: what the child stored is whole pages (one
        transaction each) and its journal lines are fsync'd, so nothing is lost by not asking.
        """
        proc = self._proc
        if proc is not None and proc.state() != QProcess.ProcessState.NotRunning:
            proc.kill()
            proc.waitForFinished(KILLED_WAIT_MS)

    @property
    def running(self) -> bool:
        return self._proc is not None

    def __repr__(self) -> str:
        return f"SyncProcess(running={self.running}, pid={os.getpid()})"
