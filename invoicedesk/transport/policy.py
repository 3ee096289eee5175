"""The request policy: one logical request with pacing, bounded retries and typed errors.

* reads (GET) are retried with exponential backoff and full jitter on connection errors,
  timeouts, 5xx, 429 and unreadable bodies, within a bounded number of attempts and time;
* writes (POST/PUT) are NEVER retried once the request may have reached the service: a lost
  answer becomes :class:`~invoicedesk.errors.OutcomeUnknownError`, because sending an invoice
  request twice can invoice an order twice;
* every error names the service, the account and the endpoint path, and never holds a secret.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from invoicedesk.errors import (
    AuthError,
    BannedError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServiceError,
    UnavailableError,
)
from invoicedesk.redact import guard_library_logs, redact, register_secrets
from invoicedesk.transport.decoding import (
    BAN_HEADER,
    decode_json,
    is_rate_limit_refusal,
    local_time,
    looks_like_html,
    parse_ban_reset,
    parse_retry_after,
    service_messages,
)
from invoicedesk.transport.pacer import RatePacer, first_int

# Every part logs as "invoicedesk.transport", the name support filters the log file by.
_log = logging.getLogger("invoicedesk.transport")

#: Methods that may be repeated without changing anything on the service.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


_TRY_AGAIN: Any = object()
"""What a step returns when its try failed and the failure is recorded in :class:`_Tries`."""


@dataclass
class _Tries:
    """One logical request's tries so far: why the last failed and how long it asked to wait."""

    method: str
    endpoint: str
    idempotent: bool
    deadline: float
    failures: int = 0
    limited: int = 0
    last: ServiceError | None = None
    wait: float | None = None

    def failed(self, error: ServiceError) -> None:
        self.last = error
        self.failures += 1

    @property
    def failure(self) -> ServiceError:
        assert self.last is not None, "a try failed without saying why"
        return self.last


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
            f"too many requests: the service blocks this app until {local_time(until)} "
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

        Returns ``None`` for an empty 2xx body when ``expect_json`` is false. Each try either
        returns, raises, or records why it failed; :meth:`_pause_before_retry` then decides
        whether there is another try and when.
        """
        method = method.upper()
        tries = _Tries(
            method=method,
            endpoint=httpx.URL(url).path,
            idempotent=method in _IDEMPOTENT,
            deadline=time.monotonic() + self.retry.total_time,
        )
        while True:
            self._check_ban(tries.endpoint)
            request = self.http.build_request(method, url, params=params, content=content, headers=headers)
            tries.wait = None
            try:
                response = await self._send(request, auth)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                self._not_connected(tries, exc)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self._no_answer(tries, exc)
            else:
                result = self._answer(tries, response, expect_json)
                if result is not _TRY_AGAIN:
                    return result
            await self._pause_before_retry(tries)

    # -- one try's outcome -------------------------------------------------------------------

    def _not_connected(self, tries: _Tries, exc: httpx.HTTPError) -> None:
        """Nothing left this machine: safe to try again, even for a write."""
        tries.failed(
            self._error(
                UnavailableError,
                f"could not connect to the service ({_describe(exc)}).",
                tries.endpoint,
                None,
            )
        )

    def _no_answer(self, tries: _Tries, exc: httpx.HTTPError) -> None:
        """The request may have arrived: a read is tried again, a write's outcome is unknown."""
        if not tries.idempotent:
            raise self._error(
                OutcomeUnknownError,
                f"the request was sent but no answer came back ({_describe(exc)}). "
                "It may or may not have been carried out: check before trying again.",
                tries.endpoint,
                None,
            ) from exc
        tries.failed(
            self._error(
                UnavailableError,
                f"the service did not answer ({_describe(exc)}).",
                tries.endpoint,
                None,
            )
        )

    def _answer(self, tries: _Tries, response: httpx.Response, expect_json: bool) -> Any:
        """The decoded body, or :data:`_TRY_AGAIN` once the failure is recorded; raises when final."""
        status = response.status_code
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        self._refuse_when_banned(response, tries.endpoint)
        if 200 <= status < 300:
            return self._success(tries, response, expect_json)
        if status == 429 or is_rate_limit_refusal(status, response.headers):
            self._rate_limited(tries, response)
        elif status >= 500:
            self._service_failed(tries, response)
        else:
            raise self._status_error(response, tries.endpoint)
        return _TRY_AGAIN

    def _refuse_when_banned(self, response: httpx.Response, endpoint: str) -> None:
        """Jumpseller's ban header: remember the ban for every request, and stop this one."""
        ban = response.headers.get(BAN_HEADER)
        if not ban or response.status_code not in (403, 429):
            return
        until = parse_ban_reset(ban)
        if self.pacer is not None:
            self.pacer.ban(until)
        raise self._error(
            BannedError,
            f"too many requests: the service blocks this app until "
            f"{local_time(until)} (local time). Try again after that.",
            endpoint,
            response.status_code,
            until=until,
        )

    def _success(self, tries: _Tries, response: httpx.Response, expect_json: bool) -> Any:
        if not expect_json and not response.content.strip():
            return None
        try:
            return decode_json(response, service=self.service, account=self.account)
        except MalformedResponseError as exc:
            if not tries.idempotent:
                raise self._error(
                    MalformedResponseError,
                    f"{exc.message} The change was probably made: check before trying again.",
                    tries.endpoint,
                    response.status_code,
                ) from exc
            tries.failed(exc)
            return _TRY_AGAIN

    def _rate_limited(self, tries: _Tries, response: httpx.Response) -> None:
        """Wait as long as the service asks (every request of the account waits), within bounds."""
        self.stats.rate_limited += 1
        tries.limited += 1
        wait = self._rate_limit_wait(response)
        tries.wait = wait
        tries.last = self._error(
            RateLimitedError,
            "the service is busy (too many requests); try again in a moment.",
            tries.endpoint,
            response.status_code,
            retry_after=wait,
        )
        if wait > self.retry.max_retry_after or tries.limited > self.retry.max_rate_limited:
            raise tries.last
        if self.pacer is not None:
            self.pacer.hold(wait)  # every request of this account waits, not just this one

    def _service_failed(self, tries: _Tries, response: httpx.Response) -> None:
        """A 5xx: a read is tried again; a write only after a 503, which did nothing."""
        status = response.status_code
        html = looks_like_html(response.content)
        # 503 says the service is not taking requests at all (RFC 9110 15.6.4): nothing was
        # done, so even a write may go again. Any other 5xx may have come after the work was done.
        if not tries.idempotent and status != 503:
            raise self._error(
                OutcomeUnknownError,
                f"the service failed while handling the request (HTTP {status}). It may or "
                "may not have been carried out: check before trying again.",
                tries.endpoint,
                status,
            )
        messages = service_messages(response.content)
        if messages:
            detail = f": {'; '.join(messages)}"
        else:
            detail = " and sent a web page instead of data" if html else ""
        message = f"the service is failing (HTTP {status}){detail}."
        tries.failed(self._error(UnavailableError, message, tries.endpoint, status))
        if status == 503:
            tries.wait = parse_retry_after(response.headers.get("Retry-After"))
            if tries.wait is not None and tries.wait > self.retry.max_retry_after:
                raise tries.failure

    async def _pause_before_retry(self, tries: _Tries) -> None:
        """Give up (raise the last failure) or wait before the next try."""
        last = tries.failure
        if tries.failures >= self.retry.max_attempts:
            raise last
        wait = tries.wait if tries.wait is not None else self._backoff(tries.failures)
        if time.monotonic() + wait > tries.deadline:
            raise last
        if self.pacer is not None and last.status == 429:
            wait = 0.0  # the pacer's hold makes the next acquire wait
        self.stats.retries += 1
        self._log(
            logging.INFO,
            "%s %s %s: %s; retrying in %.2fs",
            self.service,
            tries.method,
            tries.endpoint,
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
        per_minute = first_int(response.headers, ("Jumpseller-PerMinuteRateLimit-Remaining",))
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
