"""HTTP policy in one place: safe clients, pacing, retries, JSON decoding and error mapping.

Every service client (Jumpseller, Marketplacer, the invoicing endpoint) goes through a
:class:`RequestPolicy`, so the rules that keep staff's data and credentials safe are written
once:

* credentials travel only in headers (httpx auth objects), never in URLs, and never appear in
  exception texts, reprs or log records (:func:`redact`);
* plain ``http://`` is refused except to the loopback sandbox (:func:`check_url`);
* reads (GET) are retried with exponential backoff and full jitter on connection errors,
  timeouts, 5xx, 429 and unreadable bodies, within a bounded number of attempts and time;
* writes (POST/PUT) are NEVER retried once the request may have reached the service: a lost
  answer becomes :class:`~invoicedesk.errors.OutcomeUnknownError`, because sending an invoice
  request twice can invoice an order twice;
* a :class:`RatePacer` per account keeps requests under the published limits and adapts from
  the ``...-Remaining`` headers, so 429s stay rare while throughput stays near the limit; with a
  :class:`SharedBudget` its log is shared by every process on the same data folder.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import math
import os
import random
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from invoicedesk import __version__
from invoicedesk.errors import (
    AuthError,
    BannedError,
    InsecureURLError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServiceError,
    UnavailableError,
)
from invoicedesk.redact import RedactingFilter, guard_library_logs, redact, register_secrets
from invoicedesk.textsafe import has_unsafe, one_line
from invoicedesk.urls import URLProblem, url_refusal

__all__ = [
    "DEFAULT_TIMEOUT",
    "JUMPSELLER_LIMITS",
    "MARKETPLACER_LIMITS",
    "USER_AGENT",
    "RatePacer",
    "RateWindow",
    "RedactingFilter",
    "RequestPolicy",
    "RetryConfig",
    "SharedBudget",
    "check_url",
    "decode_json",
    "make_http_client",
    "page_count",
    "pages_in_order",
    "redact",
    "service_messages",
]

try:  # POSIX; elsewhere each process paces itself alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_log = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = f"InvoiceDesk/{__version__}"

#: Explicit timeouts: a dead network shows up within seconds, a slow page still loads.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=10.0)

#: Methods that may be repeated without changing anything on the service.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})

BAN_HEADER = "Jumpseller-BannedByRateLimit-Reset"


# --------------------------------------------------------------------------------------------
# URLs, clients and secrets
# --------------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """Return ``url`` if credentials may be sent to it, else raise :class:`InsecureURLError`.

    The rule is :func:`invoicedesk.urls.url_refusal`'s: plain ``http://`` only to this machine
    (the sandbox), and no user name or password in the address (it would end up in logs).
    """
    refusal = url_refusal(url, tidy=False)
    if refusal is None:
        return url
    host = refusal.host.lower()
    if refusal.problem is URLProblem.INVALID:
        raise InsecureURLError(f"'{_safe_url(url)}' is not a valid web address.")
    if refusal.problem is URLProblem.CREDENTIALS:
        raise InsecureURLError(
            f"The address for {host} contains a user name or password; "
            "enter credentials in their own fields instead."
        )
    if refusal.problem is URLProblem.PLAIN_HTTP:
        raise InsecureURLError(
            f"Refusing to send credentials to {host} over plain http://: "
            "the address must start with https://."
        )
    raise InsecureURLError(f"'{_safe_url(url)}' is not a web address: it must start with https://.")


def _safe_url(url: object) -> str:
    """Scheme, host and path of ``url`` for messages: never user info or the query string."""
    text = str(url)
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        cut = text.split("?", 1)[0].split("#", 1)[0]
        if "@" in cut:
            cut = cut.rsplit("@", 1)[1]
        return cut[:200]
    if not parsed.host:
        return parsed.path[:200]
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def make_http_client(
    *,
    base_url: str = "",
    timeout: httpx.Timeout | None = None,
    headers: Mapping[str, str] | None = None,
    max_connections: int = 32,
) -> httpx.AsyncClient:
    """The one way InvoiceDesk builds an HTTP client.

    TLS verification is always on, timeouts are explicit, HTTP/2 is off (the services speak
    HTTP/1.1 and h2 adds a dependency), redirects are not followed (a redirect could carry
    the Authorization header somewhere else), and the User-Agent names the app and version.
    Create one per account inside the running event loop and close it on quit.
    """
    if base_url:
        check_url(base_url)
    guard_library_logs()
    merged = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if headers:
        merged.update(headers)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout or DEFAULT_TIMEOUT,
        verify=True,
        http2=False,
        follow_redirects=False,
        headers=merged,
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=4.0,
        ),
    )


# --------------------------------------------------------------------------------------------
# Pacing
# --------------------------------------------------------------------------------------------


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
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
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
            limit = _first_int(headers, w.spec.limit_headers)
            if limit is not None and limit > 0 and limit != w.limit:
                _log.debug("rate limit for a %ss window is %s, not %s", w.period, limit, w.limit)
                w.limit = limit
            remaining = _first_int(headers, w.spec.remaining_headers)
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


def _first_int(headers: httpx.Headers, names: Iterable[str]) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            return int(float(value.strip()))
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------------------------
# Decoding and error mapping
# --------------------------------------------------------------------------------------------


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<"))


def decode_json(response: httpx.Response, *, service: str = "", account: str = "") -> Any:
    """Decode a response body as JSON or raise :class:`MalformedResponseError`.

    The message names the endpoint *path* only: query strings can carry filters or, on
    misconfigured systems, credentials.
    """
    endpoint = response.request.url.path if _has_request(response) else ""
    body = response.content
    if not body.strip():
        raise MalformedResponseError(
            f"the service sent an empty answer (HTTP {response.status_code}) where data was expected.",
            service=service,
            account=account,
            endpoint=endpoint,
            status=response.status_code,
        )
    if _looks_like_html(body):
        raise MalformedResponseError(
            f"the service sent a web page instead of data (HTTP {response.status_code}); "
            "it may be down for maintenance.",
            service=service,
            account=account,
            endpoint=endpoint,
            status=response.status_code,
        )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedResponseError(
            f"the service's answer is not complete or not valid JSON (HTTP {response.status_code}).",
            service=service,
            account=account,
            endpoint=endpoint,
            status=response.status_code,
        ) from exc


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


def service_messages(body: bytes) -> list[str]:
    """Every human message an error body holds, verbatim, in the order given.

    Understands ``{"message": ...}``, ``{"error": ...}``, ``{"errors": ["..."]}``,
    ``{"errors": [{"title", "detail"}]}`` (detail preferred, else title) and Rails-style
    ``{"errors": {"field": ["..."]}}``. Plain short text is returned on one line; an HTML
    page yields nothing (staff cannot read markup). JSON cut short (a proxy's size limit, a
    dropped connection) is never shown raw: the messages that arrived whole are salvaged, else
    nothing (the caller then says "refused (HTTP 422)"). A message with a line break or a
    control character, or over 500 characters, is made one line of at most 500.
    """
    if not body.strip():
        return []
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        if _looks_like_html(body):
            return []
        text = body.decode("utf-8", "replace").strip()
        if text[:1] not in ("{", "["):
            return [one_line(text, 500)] if text else []
        # Cut-short JSON: the whole strings after the keys error bodies use for human words.
        found: list[str] = []
        field = r'"(?:detail|title|message|error|error_description)"\s*:\s*("(?:[^"\\]|\\.)*")'
        for match in re.finditer(field, text[:100_000]):
            try:
                value = json.loads(match.group(1))
            except ValueError:
                continue
            cleaned = one_line(value, 500) if isinstance(value, str) else ""
            if cleaned and cleaned not in found and len(found) < 20:
                found.append(cleaned)
        return found
    out: list[str] = []

    def take(value: object, prefix: str = "") -> None:
        if isinstance(value, str):
            if value.strip():
                out.append(f"{prefix}{value}")
        elif isinstance(value, Mapping):
            detail = value.get("detail")
            title = value.get("title")
            message = value.get("message")
            chosen = next(
                (v for v in (detail, title, message) if isinstance(v, str) and v.strip()), None
            )
            if chosen is not None:
                out.append(f"{prefix}{chosen}")
            else:
                for key, sub in value.items():
                    take(sub, f"{prefix}{key} ")
        elif isinstance(value, list):
            for item in value:
                take(item, prefix)

    try:
        if isinstance(data, Mapping):
            for key in ("message", "error", "errors", "error_description"):
                if key in data:
                    take(data[key])
        elif isinstance(data, list | str):
            take(data)
    except RecursionError:  # absurdly nested error objects: keep what was read
        pass
    # Verbatim unless a message holds a line break or control character, or runs long.
    return [m if len(m) <= 500 and not has_unsafe(m) else one_line(m, 500) for m in out[:20]]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


_REMAINING_HEADERS = (
    "Jumpseller-PerSecondRateLimit-Remaining",
    "Jumpseller-PerMinuteRateLimit-Remaining",
)


def is_rate_limit_refusal(status: int, headers: httpx.Headers) -> bool:
    """A 429, or a 403 that says a rate-limit window is empty (Jumpseller's spec shows a 403
    in its retry sample, without ``Retry-After``): rate limiting, not an auth failure."""
    if status == 429:
        return True
    if status != 403:
        return False
    for name in _REMAINING_HEADERS:
        value = _first_int(headers, (name,))
        if value is not None and value <= 0:
            return True
    return False


def parse_ban_reset(value: str, *, now: datetime | None = None) -> datetime:
    """When a Jumpseller ban ends: the header may hold epoch seconds, seconds left, an HTTP
    date or an ISO 8601 timestamp (public sources do not say which); returns aware UTC."""
    current = now or datetime.now(UTC)
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if number > 1_000_000_000:  # an epoch timestamp
            return datetime.fromtimestamp(number, UTC)
        return current + timedelta(seconds=max(number, 0.0))
    try:
        when = datetime.fromisoformat(text.replace(" UTC", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return current + timedelta(minutes=10)  # unreadable: assume a short ban
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _local_time(when: datetime) -> str:
    local = when.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------------------------
# The request policy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryConfig:
    """How hard a read is retried. Writes are never retried once they may have been sent."""

    max_attempts: int = 5
    """Attempts for failures (errors, 5xx, unreadable bodies), the first included."""
    max_rate_limited: int = 8
    """How many 429 answers a single request waits out before giving up."""
    base_delay: float = 0.25
    max_delay: float = 8.0
    total_time: float = 90.0
    """Upper bound on the time one request may take, waits included."""
    max_retry_after: float = 60.0
    """A longer Retry-After than this is not waited for: the error says when to try again."""


@dataclass
class RequestStats:
    """Counters a benchmark or a status bar can show."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class RequestPolicy:
    """Performs one logical request with pacing, bounded retries and typed errors.

    ``service`` and ``account`` name the target in every error ("Jumpseller account
    'demo-store' (/v1/orders.json): ..."). ``secrets`` are blanked from any text the
    service echoes back. ``auth_message`` is the sentence shown for 401/403.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service: str,
        account: str,
        pacer: RatePacer | None = None,
        retry: RetryConfig | None = None,
        secrets: Iterable[str | None] = (),
        auth_message: str | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.service = service
        self.account = account
        self.pacer = pacer
        self.retry = retry or RetryConfig()
        self._secrets = tuple(s for s in secrets if s)
        register_secrets(self._secrets)
        guard_library_logs()
        self.auth_message = auth_message or "the credentials were refused"
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.stats = RequestStats()

    def __repr__(self) -> str:
        return f"RequestPolicy(service={self.service!r}, account={self.account!r})"

    # -- helpers -----------------------------------------------------------------------------

    def _error(self, cls: type[ServiceError], message: str, endpoint: str, status: int | None,
               **extra: Any) -> ServiceError:
        return cls(
            redact(message, self._secrets, patterns=False),
            service=self.service,
            account=self.account,
            endpoint=endpoint,
            status=status,
            **extra,
        )

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**n))."""
        ceiling = min(self.retry.max_delay, self.retry.base_delay * (2 ** max(failures - 1, 0)))
        return self._rng.uniform(0.0, ceiling)

    def _log(self, level: int, message: str, *args: object) -> None:
        if _log.isEnabledFor(level):
            _log.log(level, "%s", redact(message % args if args else message, self._secrets))

    def _check_ban(self, endpoint: str) -> None:
        if self.pacer is None or self.pacer.banned_until is None:
            return
        until = self.pacer.banned_until
        if until <= datetime.now(UTC):
            self.pacer.banned_until = None
            return
        raise self._error(
            BannedError,
            f"too many requests: the service blocks this app until {_local_time(until)} "
            "(local time). Try again after that.",
            endpoint,
            429,
            until=until,
        )

    # -- the request -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: httpx.QueryParams | Mapping[str, str | int] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        expect_json: bool = True,
    ) -> Any:
        """Send ``method url`` under the policy and return the decoded JSON body.

        Returns ``None`` for an empty 2xx body when ``expect_json`` is false.
        """
        method = method.upper()
        idempotent = method in _IDEMPOTENT
        endpoint = httpx.URL(url).path
        started = time.monotonic()
        deadline = started + self.retry.total_time
        failures = 0
        limited = 0
        last: ServiceError | None = None

        while True:
            self._check_ban(endpoint)
            request = self.http.build_request(
                method, url, params=params, content=content, headers=headers
            )
            wait: float | None = None
            try:
                response = await self._send(request, auth)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing left this machine: safe to try again, even for a write.
                last = self._error(
                    UnavailableError,
                    f"could not connect to the service ({_describe(exc)}).",
                    endpoint,
                    None,
                )
                failures += 1
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if not idempotent:
                    raise self._error(
                        OutcomeUnknownError,
                        f"the request was sent but no answer came back ({_describe(exc)}). "
                        "It may or may not have been carried out: check before trying again.",
                        endpoint,
                        None,
                    ) from exc
                last = self._error(
                    UnavailableError,
                    f"the service did not answer ({_describe(exc)}).",
                    endpoint,
                    None,
                )
                failures += 1
            else:
                status = response.status_code
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                ban = response.headers.get(BAN_HEADER)
                if ban and status in (403, 429):
                    until = parse_ban_reset(ban)
                    if self.pacer is not None:
                        self.pacer.ban(until)
                    raise self._error(
                        BannedError,
                        f"too many requests: the service blocks this app until "
                        f"{_local_time(until)} (local time). Try again after that.",
                        endpoint,
                        status,
                        until=until,
                    )
                if 200 <= status < 300:
                    if not expect_json and not response.content.strip():
                        return None
                    try:
                        return decode_json(response, service=self.service, account=self.account)
                    except MalformedResponseError as exc:
                        if not idempotent:
                            raise self._error(
                                MalformedResponseError,
                                f"{exc.message} The change was probably made: check before "
                                "trying again.",
                                endpoint,
                                status,
                            ) from exc
                        last = exc
                        failures += 1
                elif status == 429 or is_rate_limit_refusal(status, response.headers):
                    self.stats.rate_limited += 1
                    limited += 1
                    wait = self._rate_limit_wait(response)
                    last = self._error(
                        RateLimitedError,
                        "the service is busy (too many requests); try again in a moment.",
                        endpoint,
                        status,
                        retry_after=wait,
                    )
                    if wait > self.retry.max_retry_after or limited > self.retry.max_rate_limited:
                        raise last
                    if self.pacer is not None:
                        # Every request of this account waits, not just this one.
                        self.pacer.hold(wait)
                elif status >= 500:
                    text = "a web page" if _looks_like_html(response.content) else "an error"
                    # 503 says the service is not taking requests at all (RFC 9110 15.6.4):
                    # nothing was done, so even a write may go again. Any other 5xx may have
                    # come after the work was done.
                    if not idempotent and status != 503:
                        raise self._error(
                            OutcomeUnknownError,
                            f"the service failed while handling the request (HTTP {status}, "
                            f"{text}). It may or may not have been carried out: check before "
                            "trying again.",
                            endpoint,
                            status,
                        )
                    messages = service_messages(response.content)
                    detail = f": {'; '.join(messages)}" if messages else f" ({text})"
                    last = self._error(
                        UnavailableError,
                        f"the service is failing (HTTP {status}){detail}.",
                        endpoint,
                        status,
                    )
                    failures += 1
                    if status == 503:
                        wait = parse_retry_after(response.headers.get("Retry-After"))
                        if wait is not None and wait > self.retry.max_retry_after:
                            raise last
                else:
                    raise self._status_error(response, endpoint)

            # -- decide whether and when to try again ---------------------------------------
            assert last is not None
            if failures >= self.retry.max_attempts:
                raise last
            if wait is None:
                wait = self._backoff(failures)
            if time.monotonic() + wait > deadline:
                raise last
            if self.pacer is not None and last.status == 429:
                wait = 0.0  # the pacer's hold makes the next acquire wait
            self.stats.retries += 1
            self._log(
                logging.INFO,
                "%s %s %s: %s; retrying in %.2fs",
                self.service,
                method,
                endpoint,
                last.message,
                wait,
            )
            if wait > 0:
                await self._sleep(wait)

    async def _send(self, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
        """One paced exchange: the pacer's slot is taken before and given back after."""
        self.stats.requests += 1
        if self.pacer is None:
            return await self.http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT)
        sent_at = await self.pacer.acquire()
        response: httpx.Response | None = None
        try:
            response = await self.http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT)
            return response
        finally:
            self.pacer.release(sent_at, response.headers if response is not None else None)

    def _rate_limit_wait(self, response: httpx.Response) -> float:
        """How long a 429 asks us to wait: Retry-After, else the window that is full."""
        after = parse_retry_after(response.headers.get("Retry-After"))
        if after is not None:
            return after
        per_minute = _first_int(response.headers, ("Jumpseller-PerMinuteRateLimit-Remaining",))
        if per_minute is not None and per_minute <= 0:
            return self.pacer.minute_wait() if self.pacer else 5.0
        # The per-second window (Jumpseller) or an unspecified limit: a second frees it.
        return 1.0

    def _status_error(self, response: httpx.Response, endpoint: str) -> ServiceError:
        """401/403 → AuthError, 404 → NotFoundError, 3xx → MalformedResponseError; 400, 409,
        415, 422 and any other 4xx → RejectedError carrying the service's messages verbatim."""
        status = response.status_code
        messages = [redact(m, self._secrets, patterns=False) for m in service_messages(response.content)]
        if status in (401, 403):
            return self._error(AuthError, self.auth_message, endpoint, status)
        if status == 404:
            text = "; ".join(messages) if messages else "not found."
            return self._error(NotFoundError, text, endpoint, status)
        if 300 <= status < 400:
            return self._error(
                MalformedResponseError,
                f"the service redirected the request elsewhere (HTTP {status}); "
                "check the address in the settings.",
                endpoint,
                status,
            )
        if not messages:
            messages = [f"The service refused the request (HTTP {status})."]
        return RejectedError(
            messages,
            service=self.service,
            account=self.account,
            endpoint=endpoint,
            status=status,
        )


def _describe(exc: BaseException) -> str:
    """A short, secret-free description of a transport error (no URLs, no headers)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection closed before the answer was complete"
    return "the connection failed"


def page_count(total: int, page_size: int) -> int:
    """Pages needed for ``total`` records at ``page_size`` per page (at least one)."""
    return max(1, math.ceil(total / page_size))


async def pages_in_order(
    fetch: Callable[[int], Awaitable[T]],
    first: int,
    last: int,
    *,
    ahead: int,
) -> AsyncGenerator[tuple[int, T], None]:
    """Yield ``(number, await fetch(number))`` for pages ``first..last``, in page order.

    Up to ``ahead`` pages are in flight at once (the account's pacer decides how fast they
    really go), and the consumer's pace bounds memory. The first failure cancels the rest
    and is raised; closing the iterator early cancels everything still in flight.
    """
    pending: deque[tuple[int, asyncio.Task[T]]] = deque()
    upcoming = first
    try:
        while upcoming <= last or pending:
            while upcoming <= last and len(pending) < max(ahead, 1):
                pending.append((upcoming, asyncio.ensure_future(fetch(upcoming))))
                upcoming += 1
            number, task = pending.popleft()
            result = await task
            yield number, result
    finally:
        for _, task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*(t for _, t in pending), return_exceptions=True)
