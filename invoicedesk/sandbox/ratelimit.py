"""Sliding-window rate limits, with Jumpseller's ban after too many refusals.

Windows slide over real (monotonic) time: a request counts against every window it falls in for
exactly one second / one minute after it arrived. Refused requests do not count against the
limits, but ``ban_after`` refusals within ``ban_window`` seconds ban the key for ``ban_seconds``;
while banned every request is refused. Reset times for clients are wall-clock unix seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    per_second_remaining: int
    per_minute_remaining: int | None
    retry_after: int = 0  # whole seconds, for Retry-After
    banned_until: int | None = None  # unix seconds (wall clock) while banned


@dataclass
class _Key:
    second: deque[float] = field(default_factory=deque)
    minute: deque[float] = field(default_factory=deque)
    refusals: deque[float] = field(default_factory=deque)
    banned_until: float = 0.0


class RateLimiter:
    """Per-key limits; thread-safe. ``per_minute``/``ban_after`` of None switch that part off."""

    def __init__(self, per_second: int, per_minute: int | None = None, *,
                 ban_after: int | None = None, ban_window: float = 60.0, ban_seconds: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.per_second = per_second
        self.per_minute = per_minute
        self.ban_after = ban_after
        self.ban_window = ban_window
        self.ban_seconds = ban_seconds
        self.enabled = True
        self._monotonic = monotonic
        self._wall = wall
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()

    def _remaining(self, k: _Key) -> tuple[int, int | None]:
        sec = max(0, self.per_second - len(k.second))
        mins = None if self.per_minute is None else max(0, self.per_minute - len(k.minute))
        return sec, mins

    def _ban_verdict(self, k: _Key, now: float) -> Verdict:
        left = k.banned_until - now
        return Verdict(False, 0, 0 if self.per_minute is not None else None,
                       retry_after=max(1, math.ceil(left)),
                       banned_until=math.ceil(self._wall() + left))

    def check(self, key: str) -> Verdict:
        """Count one request for ``key`` and say whether it may go through."""
        with self._lock:
            now = self._monotonic()
            k = self._keys.setdefault(key, _Key())
            if not self.enabled:
                return Verdict(True, self.per_second, self.per_minute)
            if k.banned_until > now:
                return self._ban_verdict(k, now)
            while k.second and k.second[0] <= now - 1.0:
                k.second.popleft()
            while k.minute and k.minute[0] <= now - 60.0:
                k.minute.popleft()
            while k.refusals and k.refusals[0] <= now - self.ban_window:
                k.refusals.popleft()
            over_second = len(k.second) >= self.per_second
            over_minute = self.per_minute is not None and len(k.minute) >= self.per_minute
            if over_second or over_minute:
                k.refusals.append(now)
                if self.ban_after is not None and len(k.refusals) >= self.ban_after:
                    k.banned_until = now + self.ban_seconds
                    k.refusals.clear()
                    return self._ban_verdict(k, now)
                wait = 0.0
                if over_second:
                    wait = max(wait, k.second[0] + 1.0 - now)
                if over_minute:
                    wait = max(wait, k.minute[0] + 60.0 - now)
                sec, mins = self._remaining(k)
                return Verdict(False, sec, mins, retry_after=max(1, math.ceil(wait)))
            k.second.append(now)
            if self.per_minute is not None:
                k.minute.append(now)
            sec, mins = self._remaining(k)
            return Verdict(True, sec, mins)

    def ban(self, key: str, seconds: float) -> None:
        """Ban ``key`` for ``seconds`` from now, as too many refusals would."""
        with self._lock:
            k = self._keys.setdefault(key, _Key())
            k.banned_until = self._monotonic() + seconds
            k.refusals.clear()

    def reset(self) -> None:
        with self._lock:
            self._keys.clear()
