"""The window's sync runs as a child process: what goes in on stdin, what comes out on stdout.

Why a process: a first sync parses and stores thousands of records. On a thread of the window's
process it competes with the GUI thread for Python's GIL and its garbage collector, and the
window stalled for up to 76 ms at a time (benchmarks/ui.py). In a child process the window
only reads a few lines of progress; the child uses the same clients, the same cache file (WAL:
the window reads while the child writes) and the same rate budget per store, which processes on
one data folder share (``transport``'s shared budget), so there is one way to sync, whether
from the window or from ``invoicedesk sync`` in a terminal or a scheduled job.

In: one JSON object on stdin, ``{"config": <TOML text>, "secrets": {keyring key: value}}``:
the window's accounts and the secrets it holds in memory (the demo's). Nothing is written to
disk or put in the environment or on the command line. Where the window's secrets are the
system keyring, the feed says ``"keyring": true`` instead and the child reads the keyring
itself: the window never loads the keyring library (with its D-Bus and cryptography code,
about 12 MiB and 35 ms of the GUI thread at every first sync), and a keyring that is locked
and asks to be unlocked keeps the child waiting, never the window. Environment variables
named by the accounts reach the child as they are, and win there as everywhere.

Out: one JSON object per line on stdout, ``{"progress": {...}}`` while it runs and one
``{"results": [...]}`` at the end. Errors stay one line each on stderr; an error that stops
the whole sync (a full disk, a damaged cache) is also ``{"stopped": {"cache": bool,
"message": ...}}`` on stdout, for a parent that must say it once (``sync_fanout``).
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from dataclasses import asdict, dataclass
from typing import IO, Any

from invoicedesk.config import (
    Config,
    JumpsellerAccount,
    KeyringSecrets,
    MarketplacerAccount,
    SecretSource,
    StaticSecrets,
    dump_config,
    parse_config,
)
from invoicedesk.errors import ConfigError
from invoicedesk.sync import SyncProgress, SyncResult

MAX_FEED = 1 << 20  # a feed is a few kilobytes; anything larger is not ours


def _secret_keys(config: Config) -> list[str]:
    keys: list[str] = [config.team.password_key] if config.team is not None else []
    for acc in config.accounts:
        if isinstance(acc, JumpsellerAccount):
            keys += [acc.token_key, acc.hooks_token_key]
        elif isinstance(acc, MarketplacerAccount):
            keys += [acc.api_key_key, acc.basic_password_key]
    return keys


def feed(config: Config, secrets: SecretSource) -> bytes:
    """What the window writes to the child's stdin."""
    if isinstance(secrets, KeyringSecrets):
        return json.dumps({"config": dump_config(config), "secrets": {}, "keyring": True}).encode("utf-8")
    values = {}
    for key in _secret_keys(config):
        value = secrets.get(key)
        if value:
            values[key] = value
    return json.dumps({"config": dump_config(config), "secrets": values}).encode("utf-8")


def read_feed(stream: IO[bytes]) -> tuple[Config, SecretSource]:
    """The child's side: accounts and secrets from stdin, or ``ConfigError`` saying what is wrong."""
    raw = stream.read(MAX_FEED + 1)
    if len(raw) > MAX_FEED:
        raise ConfigError("the sync feed on stdin is too large.")
    try:
        data = json.loads(raw)
        config = parse_config(tomllib.loads(data["config"]))
        secrets = {str(k): str(v) for k, v in dict(data.get("secrets", {})).items()}
        keyring = data.get("keyring", False) is True
    except (ValueError, KeyError, TypeError, AttributeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the sync feed on stdin cannot be read ({type(exc).__name__}).") from None
    return config, (KeyringSecrets() if keyring else StaticSecrets(secrets))


def invoicedesk_command(*args: str) -> tuple[str, list[str]]:
    """How to start ``invoicedesk <args>`` as a child: the frozen app is its own command line."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(args)
    return sys.executable, ["-m", "invoicedesk", *args]


#: How much lower the window's sync runs than the window (POSIX nice steps).
BACKGROUND_NICE = 10


def yield_to_the_window() -> None:
    """Run this process below normal priority: on a machine with few cores, parsing and storing
    thousands of records must never keep the window waiting for a core (the window paints in
    a few milliseconds, then the sync has the machine again). The sync is not slower for it
    while the window is idle. Best effort: where the system refuses, the sync runs as it is."""
    try:
        if sys.platform == "win32":
            import ctypes

            below_normal = 0x4000  # BELOW_NORMAL_PRIORITY_CLASS
            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), below_normal)
        else:
            os.nice(BACKGROUND_NICE)
    except (OSError, AttributeError):
        pass


def progress_line(p: SyncProgress) -> str:
    return json.dumps({"progress": asdict(p)})


def results_line(results: list[SyncResult]) -> str:
    return json.dumps({"results": [asdict(r) for r in results]})


@dataclass(frozen=True)
class Stopped:
    """The child's sync stopped as a whole; ``cache``: because of the cache (disk, damage)."""

    message: str
    cache: bool


def stopped_line(message: str, *, cache: bool) -> str:
    return json.dumps({"stopped": {"message": message, "cache": cache}})


def parse_line(line: str | bytes) -> SyncProgress | list[SyncResult] | Stopped | None:
    """One line of the child's stdout; ``None`` for anything that is not ours."""
    try:
        data: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        if "progress" in data:
            return SyncProgress(**data["progress"])
        if "results" in data:
            return [SyncResult(**r) for r in data["results"]]
        if "stopped" in data:
            stop = data["stopped"]
            return Stopped(str(stop["message"]), stop.get("cache") is True)
    except TypeError:
        return None
    return None
