"""Pacing: one account's requests kept under its published rate limits, close to them but not over.

:class:`RatePacer` paces the requests of one process (share one per account between all its
clients); with a :class:`SharedBudget` its log of requests lives in a small locked file in the
data folder, so every InvoiceDesk process on that folder (the window, its sync child, a
scheduled ``invoicedesk sync``) counts against the same limits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

try:  # POSIX; elsewhere each process paces itself alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# Every part logs as "invoicedesk.transport", the name support filters the log file by.
_log = logging.getLogger("invoicedesk.transport")

T = TypeVar("T")


@dataclass(frozen=True)
class RateWindow:
    """One published limit: at most ``limit`` requests per ``period`` seconds."""

    limit: int
    period: float
    remaining_headers: tuple[str, ...] = ()
    limit_headers: tuple[str, ...] = ()


JUMPSELLER_LIMITS: tuple[RateWindow, ...] = (
    RateWindow(
        20,
        1.0,
        ("Jumpseller-PerSecondRateLimit-Remaining",),
        ("Jumpseller-PerSecondRateLimit-Limit",),
    ),
    RateWindow(
        800,
        60.0,
        ("Jumpseller-PerMinuteRateLimit-Remaining",),
        ("Jumpseller-PerMinuteRateLimit-Limit",),
    ),
)

#: Marketplacer documents 50 requests/s on REST but no headers; accept the common spellings.
MARKETPLACER_LIMITS: tuple[RateWindow, ...] = (
    RateWindow(
        50,
        1.0,
        ("X-RateLimit-Remaining", "RateLimit-Remaining"),
        ("X-RateLimit-Limit", "RateLimit-Limit"),
    ),
)


_EPSILON = 1e-6
"""Waits shorter than this are rounding noise, not waits (a microsecond changes nothing)."""


class _Window:
    """Sliding log of completion times for one :class:`RateWindow` (oldest first)."""

    __slots__ = ("limit", "log", "period", "spec")

    def __init__(self, spec: RateWindow) -> None:
        self.spec = spec
        self.limit = spec.limit
        self.period = spec.period
        self.log: deque[float] = deque()



class SharedBudget:
    """One account's request log, shared by every InvoiceDesk process on one data folder.

    Two processes that each keep to 20 requests/s send 40 together, and the store gets banned.
    So the log that decides whether a request may go lives in a small file in the data folder
    (``rate-<service>-<account>.json``), read and written under an ``fcntl`` lock: a process
    books its request there before sending it, and marks it answered (at the time the answer
    came) afterwards, exactly as :class:`RatePacer` does in memory. A booking is refused while
    any window is full counting every process's requests; in-flight ones count until answered
    (or until ``stale_after`` s, for a process killed mid-request). A 429's hold is shared too.

    Times are ``time.monotonic()``, which is one clock for every process of a machine
    (CLOCK_MONOTONIC); entries from the future (a file kept across a reboot) are dropped.
    Where ``fcntl`` does not exist, or the file cannot be written, the pacer goes on alone.
    """

    def __init__(
        self,
        path: Path,
        *,
        stale_after: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.stale_after = stale_after
        self._clock = clock
        self._broken = fcntl is None

    @classmethod
    def for_account(cls, folder: Path, service: str, account: str) -> SharedBudget:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", account)[:60]
        digest = hashlib.sha1(account.encode("utf-8")).hexdigest()[:8]  # noqa: S324 - a file name
        return cls(folder / f"rate-{service}-{safe}-{digest}.json")

    def __repr__(self) -> str:
        return f"SharedBudget({self.path.name})"

    def _update(self, change: Callable[[dict[str, Any], float], T]) -> T | None:
        """Run ``change(state, now)`` under the lock and write the state back."""
        if self._broken:
            return None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self._give_up(exc)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = b""
            while chunk := os.read(fd, 65536):
                raw += chunk
            try:
                state = json.loads(raw) if raw.strip() else {}
                if not isinstance(state, dict):
                    state = {}
            except ValueError:
                state = {}
            now = self._clock()
            state.setdefault("next", 1)
            log = [e for e in state.get("log", []) if isinstance(e, list) and len(e) == 3]
            horizon = now - max(self.stale_after, 61.0)
            state["log"] = [e for e in log if horizon < e[1] <= now + 1.0]
            if not 0 <= float(state.get("hold", 0.0)) - now <= 3600:
                state["hold"] = 0.0
            result = change(state, now)
            data = json.dumps(state, separators=(",", ":")).encode()
            # Over the old state, then cut to length: truncating to 0 first makes ext4 flush the
            # file on close (its guard for replace-by-truncate), ms per request on a busy disk.
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
            return result
        except OSError as exc:
            self._give_up(exc)
            return None
        finally:
            os.close(fd)  # releases the lock

    def _give_up(self, exc: OSError) -> None:
        self._broken = True
        _log.warning("rate budget not shared with other InvoiceDesk processes (%s): %s", self.path, exc)

    def try_take(self, windows: Sequence[tuple[int, float]], margin: float) -> tuple[float, int | None]:
        """Book one request if every window has room: ``(0, ticket)``; else ``(wait, None)``."""

        def take(state: dict[str, Any], now: float) -> tuple[float, int | None]:
            log = state["log"]
            wait = float(state.get("hold", 0.0)) - now
            for limit, period in windows:
                in_flight = sum(1 for _t, stamp, done in log if not done and stamp > now - self.stale_after)
                answered = sorted(stamp for _t, stamp, done in log if done and stamp > now - period - margin)
                free = limit - in_flight
                if free <= 0:
                    wait = max(wait, 0.02)  # only an answer can make room
                elif len(answered) >= free:
                    wait = max(wait, answered[len(answered) - free] + period + margin - now)
            if wait > _EPSILON:
                return wait, None
            ticket = int(state["next"])
            state["next"] = ticket + 1
            log.append([ticket, now, 0])
            return 0.0, ticket

        result = self._update(take)
        return result if result is not None else (0.0, None)

    def answered(self, ticket: int) -> None:
        """The booked request is over: it counts from now, like an answer in :class:`RatePacer`."""

        def mark(state: dict[str, Any], now: float) -> None:
            for entry in state["log"]:
                if entry[0] == ticket:
                    entry[1], entry[2] = max(entry[1], now), 1

        self._update(mark)

    def hold(self, until: float) -> None:
        """Every process waits until ``until`` (a 429 said so)."""

        def extend(state: dict[str, Any], _now: float) -> None:
            state["hold"] = max(float(state.get("hold", 0.0)), until)

        self._update(extend)

class RatePacer:
    """Keeps one account's requests under its rate limits, close to them but not over.

    Three rules decide when the next request may go:

    * every window (e.g. 20 per second AND 800 per minute) must have room. A request counts
      from the moment it is sent, and once answered it is logged at the time the answer
      came back: the service counted it on arrival, which is never later than that, so our
      window always covers the service's however its queue delayed the request;
    * requests are spread evenly at the shortest window's rate after a small burst (a token
      bucket): a service that is flooded in one go answers the last of a burst late, which
      would then hold up the next window;
    * after a 429 every request waits out the time the service asked for.

    It also listens to the service: a ``...-Remaining`` header saying fewer requests are left
    than we account for (another app on the same store, a shared IP) books the difference as
    ours; a ``...-Limit`` header replaces the configured limit. Share one pacer between all
    clients of one account.
    """

    def __init__(
        self,
        windows: Sequence[RateWindow],
        *,
        burst: int = 4,
        margin: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: SharedBudget | None = None,
    ) -> None:
        if not windows:
            raise ValueError("a pacer needs at least one window")
        self.shared = shared
        self._tickets: dict[float, list[int]] = {}
        self._windows = [_Window(w) for w in windows]
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._burst = float(max(burst, 1))
        self._tokens = self._burst
        self._tokens_at = clock()
        self._hold_until = 0.0
        self._in_flight = 0
        self._lock: asyncio.Lock | None = None
        self._released: asyncio.Event | None = None
        self.banned_until: datetime | None = None
        self.sent = 0
        self.waited = 0.0
        self.adjustments = 0

    @classmethod
    def jumpseller(cls, shared: SharedBudget | None = None) -> RatePacer:
        """20 requests/s and 800/min per store (``shared``: with every process on the folder)."""
        return cls(JUMPSELLER_LIMITS, shared=shared)

    @classmethod
    def marketplacer(cls, shared: SharedBudget | None = None) -> RatePacer:
        """50 requests/s on the REST API."""
        return cls(MARKETPLACER_LIMITS, shared=shared)

    @property
    def limits(self) -> list[tuple[int, float]]:
        """Current (limit, period) per window, after any adaptation from headers."""
        return [(w.limit, w.period) for w in self._windows]

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def _rate(self) -> float:
        """Requests per second of the shortest window: the pace between bursts."""
        shortest = min(self._windows, key=lambda w: w.period)
        return max(shortest.limit, 1) / shortest.period

    def _purge(self, now: float) -> None:
        for w in self._windows:
            horizon = now - w.period - self._margin
            while w.log and w.log[0] <= horizon:
                w.log.popleft()

    def _delay(self, now: float) -> float | None:
        """Seconds until a request may go; ``None`` while only an answer can make room."""
        wait = self._hold_until - now
        for w in self._windows:
            free = w.limit - self._in_flight  # slots the logged requests may still use
            if free <= 0:
                return None
            if len(w.log) >= free:
                # The entry whose expiry leaves free - 1 logged requests in the window.
                wait = max(wait, w.log[len(w.log) - free] + w.period + self._margin - now)
        tokens = min(self._burst, self._tokens + (now - self._tokens_at) * self._rate)
        if tokens < 1.0 - _EPSILON:
            wait = max(wait, (1.0 - tokens) / self._rate)
        return wait

    async def acquire(self) -> float:
        """Wait for a free slot and take it; returns the send time. Call :meth:`release` after."""
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._released = asyncio.Event()
        assert self._released is not None
        async with self._lock:
            while True:
                now = self._clock()
                self._purge(now)
                wait = self._delay(now)
                if wait is None:
                    self._released.clear()
                    await self._released.wait()
                    continue
                if wait <= _EPSILON and self.shared is not None:
                    wait, ticket = self.shared.try_take(self.limits, self._margin)
                    if ticket is not None:
                        self._tickets.setdefault(now, []).append(ticket)
                if wait <= _EPSILON:
                    tokens = min(self._burst, self._tokens + (now - self._tokens_at) * self._rate)
                    self._tokens, self._tokens_at = max(tokens - 1.0, 0.0), now
                    self._in_flight += 1
                    self.sent += 1
                    return now
                self.waited += wait
                await self._sleep(wait)

    def release(self, sent_at: float, headers: httpx.Headers | None = None) -> None:
        """The request sent at ``sent_at`` is over: log it now, and learn from its headers."""
        now = self._clock()
        self._in_flight = max(self._in_flight - 1, 0)
        for w in self._windows:
            w.log.append(now)
        tickets = self._tickets.get(sent_at)
        if tickets:
            ticket = tickets.pop()
            if not tickets:
                del self._tickets[sent_at]
            assert self.shared is not None
            self.shared.answered(ticket)
        if headers is not None:
            self._observe(headers, now)
        if self._released is not None:
            self._released.set()

    def _observe(self, headers: httpx.Headers, now: float) -> None:
        for w in self._windows:
            limit = first_int(headers, w.spec.limit_headers)
            if limit is not None and limit > 0 and limit != w.limit:
                _log.debug("rate limit for a %ss window is %s, not %s", w.period, limit, w.limit)
                w.limit = limit
            remaining = first_int(headers, w.spec.remaining_headers)
            if remaining is None:
                continue
            # Everything of ours the service may still be counting: answered or in flight.
            ours = self._in_flight + sum(
                1 for stamp in w.log if stamp > now - w.period - self._margin
            )
            theirs = w.limit - max(remaining, 0)
            # One request of slack absorbs window-edge noise; more means someone else is
            # spending this account's budget, so book their share as if it were ours.
            if theirs - ours > 1:
                w.log.extend([now] * min(theirs - ours, w.limit))
                self.adjustments += 1

    def hold(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (the service said 429 and how long to wait)."""
        self._hold_until = max(self._hold_until, self._clock() + max(seconds, 0.0))
        if self.shared is not None:
            self.shared.hold(self._hold_until)

    def ban(self, until: datetime) -> None:
        """Remember a ban: no request is sent before ``until``."""
        self.banned_until = until

    def minute_wait(self) -> float:
        """Seconds until the longest window frees a slot (used when a 429 gives no hint)."""
        now = self._clock()
        longest = max(self._windows, key=lambda w: w.period)
        span = longest.period + self._margin
        inside = [s for s in longest.log if s > now - span]
        free = longest.limit - self._in_flight
        if free <= 0 or len(inside) < free:
            return longest.period / max(longest.limit, 1)
        return max(inside[len(inside) - free] + span - now, 0.0)

    def __repr__(self) -> str:
        spec = ", ".join(f"{w.limit}/{w.period:g}s" for w in self._windows)
        return f"RatePacer({spec}, sent={self.sent})"


def first_int(headers: httpx.Headers, names: Iterable[str]) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            return int(float(value.strip()))
        except ValueError:
            return None
    return None
