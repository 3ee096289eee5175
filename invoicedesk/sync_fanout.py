"""A sync of both services runs each service in a process of its own.

Why: a first sync is mostly Python parsing pages, and one process parses on one core at a
time (the GIL). A shop with a store and a seller syncs both at once; in one process each
waits for the other's parsing, and the store's sync took 1.3x its rate-limit bound instead of
1.05x alone (benchmarks/sync.py, 10,000 orders beside 10,000 invoices on 2 cores). In two
processes each service parses on its own core while the rate limits pace the requests.

Each child is ``invoicedesk sync --feed`` (``sync_feed``: accounts and secrets on stdin, JSON
lines out) with one service's accounts, on the same data folder: the cache takes writers one
transaction at a time and the rate budget of an account is shared by every process on the
folder. A child that ends without its results reports each of its accounts as failed with its
last line of error. Cancelling stops the children (SIGTERM, then SIGKILL after a grace
period); what they stored stays, every page being one transaction. A child whose parent dies
stops too (``stop_with_parent``), so a killed ``invoicedesk sync`` leaves nothing running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from invoicedesk.cache import CacheError
from invoicedesk.config import Account, Config, SecretSource
from invoicedesk.sync import SyncProgress, SyncResult
from invoicedesk.sync_feed import Stopped, feed, invoicedesk_command, parse_line
from invoicedesk.textsafe import one_line

#: Set in a child's environment: the pid of the parent it must not outlive.
PARENT_ENV = "INVOICEDESK_SYNC_PARENT"
#: ``0`` keeps every account in one process (the sync of old, and the tests' way to compare).
PROCESSES_ENV = "INVOICEDESK_SYNC_PROCESSES"
STOP_GRACE_S = 3.0
#: The longest line read from a child: its results name every record it changed (a first
#: sync of 100,000 orders is a line of about 1.5 MB).
LINE_LIMIT = 64 << 20


def groups_by_service(accounts: Sequence[Account]) -> list[list[Account]]:
    """The accounts split by service, in the order first seen; one group: no fan-out."""
    groups: dict[str, list[Account]] = {}
    for acc in accounts:
        groups.setdefault(acc.source, []).append(acc)
    return list(groups.values())


def wanted(accounts: Sequence[Account]) -> bool:
    """Whether these accounts sync in processes of their own (two services or more)."""
    return os.environ.get(PROCESSES_ENV, "1") != "0" and len(groups_by_service(accounts)) > 1


async def sync_in_processes(
    config: Config,
    secrets: SecretSource,
    data_dir: Path,
    accounts: Sequence[Account],
    *,
    progress: Callable[[SyncProgress], None] | None = None,
    full: bool = False,
    deep: bool = False,
) -> list[SyncResult]:
    """Sync ``accounts``, one child process per service; the results in the accounts' order."""
    groups = groups_by_service(accounts)
    found = await asyncio.gather(
        *(_child(config, secrets, data_dir, g, progress, full, deep) for g in groups)
    )
    for got in found:
        if isinstance(got, Stopped) and got.cache:
            raise CacheError(got.message)  # a full disk stops every account alike: said once
    by_name: dict[str, SyncResult] = {}
    for group, got in zip(groups, found, strict=True):
        if isinstance(got, Stopped):
            got = [SyncResult(a.name, a.source, error=got.message) for a in group]
        by_name.update((r.account, r) for r in got)
    return [by_name.get(a.name) or SyncResult(a.name, a.source, error="not synced") for a in accounts]


async def _child(
    config: Config,
    secrets: SecretSource,
    data_dir: Path,
    group: list[Account],
    progress: Callable[[SyncProgress], None] | None,
    full: bool,
    deep: bool,
) -> list[SyncResult] | Stopped:
    names = {a.name for a in group}
    own = replace(
        config,
        jumpseller=tuple(a for a in config.jumpseller if a.name in names),
        marketplacer=tuple(a for a in config.marketplacer if a.name in names),
        team=None,  # the parent speaks to the team database; children only sync
    )
    args = ["sync", "--feed", *(["--full"] if full else []), *(["--deep"] if deep else [])]
    env = {**os.environ, "INVOICEDESK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
           PARENT_ENV: str(os.getpid())}
    program, arguments = invoicedesk_command(*args)
    proc = await asyncio.create_subprocess_exec(
        program,
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=LINE_LIMIT,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    results: list[SyncResult] | None = None
    stopped: Stopped | None = None
    errors: list[str] = []

    async def read_errors() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            text = one_line(line.decode("utf-8", "replace"), 500).strip()
            if text:
                errors.append(text)

    reading = asyncio.ensure_future(read_errors())
    try:
        proc.stdin.write(feed(own, secrets))
        await proc.stdin.drain()
        proc.stdin.close()
        async for line in proc.stdout:
            got = parse_line(line)
            if isinstance(got, SyncProgress):
                if progress is not None:
                    progress(got)
            elif isinstance(got, list):
                results = got
            elif isinstance(got, Stopped):
                stopped = got
        await proc.wait()
        await reading
    except BaseException:
        await _stop(proc)
        raise
    finally:
        reading.cancel()
    if results is not None:
        return results
    if stopped is not None:
        return stopped
    why = errors[-1].removeprefix("invoicedesk: ") if errors else f"it ended with status {proc.returncode}"
    return Stopped(f"The sync process stopped: {why}", cache=False)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def stop_with_parent() -> None:
    """In a child of :func:`sync_in_processes`: end when the parent ends (Linux), and at once
    if it is already gone. Elsewhere the child finishes its sync, which is safe too."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != parent:  # the parent died before the line above
        os.kill(os.getpid(), signal.SIGTERM)
