"""The sandbox's virtual clock and the date formats each service writes.

Data lives in virtual time (deterministic, moved only by ``advance``); rate limits and bans use
real time because clients compare them with their own clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import lru_cache

DEFAULT_START = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
"""Where the virtual clock starts unless told otherwise: fixed, so every run sees the same data."""


class VirtualClock:
    """Virtual 'now' in whole seconds, thread-safe; only ``advance`` moves it."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("the sandbox clock needs a timezone-aware start")
        self._ts = int(start.timestamp())
        self._lock = threading.Lock()

    def timestamp(self) -> int:
        with self._lock:
            return self._ts

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance(self, hours: float) -> tuple[int, int]:
        """Move forward; returns (before, after) as unix seconds."""
        if hours < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            before = self._ts
            self._ts += round(hours * 3600)
            return before, self._ts


# ---- Jumpseller: "2023-02-10 13:56:35 UTC", older payloads ISO 8601 ----------------------------


def jumpseller_date(ts: int, iso: bool = False) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    if iso:
        return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return d.strftime("%Y-%m-%d %H:%M:%S UTC")


def contract_date(ts: int) -> str:
    """ISO 8601 UTC as the Lightweight invoicing contract writes it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- Marketplacer: Australian local time with its offset (+10:00 / +11:00) -----------------------


@lru_cache(maxsize=64)
def _melbourne_dst_bounds(year: int) -> tuple[int, int]:
    """(end, start) of daylight saving in ``year`` as unix seconds (rules in force since 2008).

    DST ends the first Sunday of April at 03:00 AEDT and starts the first Sunday of October at
    02:00 AEST; both instants are 16:00 UTC on the Saturday before.
    """

    def first_sunday(month: int) -> datetime:
        d = datetime(year, month, 1, tzinfo=UTC)
        return d + timedelta(days=(6 - d.weekday()) % 7)

    end = first_sunday(4) - timedelta(hours=8)
    start = first_sunday(10) - timedelta(hours=8)
    return int(end.timestamp()), int(start.timestamp())


def melbourne_offset(ts: int) -> int:
    """Seconds east of UTC in Melbourne at ``ts``."""
    year = datetime.fromtimestamp(ts, UTC).year
    end, start = _melbourne_dst_bounds(year)
    return 11 * 3600 if (ts < end or ts >= start) else 10 * 3600


def marketplacer_time(ts: int, millis: bool = True) -> str:
    """``2020-11-11T14:49:18.000+11:00`` (or without the milliseconds, as some samples show)."""
    off = melbourne_offset(ts)
    local = datetime.fromtimestamp(ts + off, UTC)
    frac = ".000" if millis else ""
    return f"{local:%Y-%m-%dT%H:%M:%S}{frac}+{off // 3600:02d}:00"


def marketplacer_impossible(ts: int) -> str:
    """The docs' own ``2020-13-11T14:49:18.000+11:00``: day and month swapped, a month 13 at least."""
    off = melbourne_offset(ts)
    local = datetime.fromtimestamp(ts + off, UTC)
    day = max(local.day, 13)
    return f"{local.year:04d}-{day:02d}-{local.month:02d}T{local:%H:%M:%S}.000+{off // 3600:02d}:00"


def marketplacer_date(ts: int) -> str:
    off = melbourne_offset(ts)
    return f"{datetime.fromtimestamp(ts + off, UTC):%Y-%m-%d}"


def parse_query_time(text: str) -> int:
    """A filter timestamp from a query string; naive ones are Melbourne local time.

    Raises ValueError when it is not ISO 8601 (e.g. a ``+`` that was not URL-encoded arrives
    as a space).
    """
    d = datetime.fromisoformat(text)
    if d.tzinfo is None:
        guess = int(d.replace(tzinfo=UTC).timestamp())
        return guess - melbourne_offset(guess)
    return int(d.timestamp())
