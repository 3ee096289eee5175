"""The HTTP policy against a small misbehaving server on 127.0.0.1 (real sockets, no mocks).

The server below fails on purpose in every way the real services do (5xx, 429, HTML pages,
cut-off JSON, slow answers, dropped connections, bans); each test checks that a read recovers
or ends in the right typed error, that a write is never sent twice, and that no secret leaks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import uvicorn

from invoicedesk.errors import (
    AuthError,
    BannedError,
    InsecureURLError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from invoicedesk.redact import RedactingFilter, redact
from invoicedesk.transport import (
    USER_AGENT,
    RatePacer,
    RateWindow,
    RequestPolicy,
    RetryConfig,
    check_url,
    make_http_client,
    pages_in_order,
    parse_ban_reset,
    parse_retry_after,
    service_messages,
)

TOKEN = "tok-7f3a9c1e5b2d"
LOGIN = "demo-login"
FAST = RetryConfig(base_delay=0.001, max_delay=0.005, total_time=10.0)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class FaultyServer:
    """A raw ASGI app: ``/<kind>/<key>?fail=N`` misbehaves for the first N hits of ``key``."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = defaultdict(int)
        self.limited: dict[str, int] = defaultdict(int)
        self.arrivals: deque[float] = deque()
        self.seen_headers: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        parts = scope["path"].strip("/").split("/")
        kind, key = parts[0], "/".join(parts[1:])
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        self.hits[scope["path"]] += 1
        n = self.hits[scope["path"]]
        failing = n <= int(query.get("fail", "0"))
        handler = getattr(self, f"_{kind}")
        await handler(send, failing=failing, n=n, query=query, scope=scope, key=key)

    # -- responses ------------------------------------------------------------------------

    @staticmethod
    async def _reply(send: Send, status: int, body: bytes, ctype: str = "application/json",
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
        head = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status,
                    "headers": head + (headers or [])})
        await send({"type": "http.response.body", "body": body})

    async def _flaky(self, send: Send, *, failing: bool, n: int, query: dict[str, str],
                     **_: Any) -> None:
        if failing:
            await self._reply(send, int(query.get("code", "500")), b'{"message": "boom"}')
        else:
            await self._reply(send, 200, json.dumps({"ok": True, "hits": n}).encode())

    async def _html(self, send: Send, *, failing: bool, query: dict[str, str], **_: Any) -> None:
        page = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
        if failing:
            await self._reply(send, int(query.get("code", "502")), page, "text/html")
        else:
            await self._reply(send, 200, b'{"ok": true}')

    async def _truncate(self, send: Send, *, failing: bool, **_: Any) -> None:
        if failing:
            await self._reply(send, 200, b'{"data": [{"id": 1}, {"id": 2')
        else:
            await self._reply(send, 200, b'{"data": [{"id": 1}, {"id": 2}]}')

    async def _slow(self, send: Send, *, failing: bool, query: dict[str, str], **_: Any) -> None:
        if failing:
            await asyncio.sleep(float(query.get("delay", "1.0")))
        await self._reply(send, 200, b'{"ok": true}')

    async def _drop(self, send: Send, *, failing: bool, **_: Any) -> None:
        if not failing:
            await self._reply(send, 200, b'{"ok": true}')
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"400")]})
        await send({"type": "http.response.body", "body": b'{"data": [', "more_body": True})
        raise ConnectionAbortedError("dropping the connection on purpose")

    async def _limited(self, send: Send, *, failing: bool, query: dict[str, str],
                       **_: Any) -> None:
        if failing:
            headers = []
            if "after" in query:
                headers.append((b"retry-after", query["after"].encode()))
            await self._reply(send, 429, b'{"message": "Too Many Requests"}', headers=headers)
        else:
            await self._reply(send, 200, b'{"ok": true}')

    async def _ban(self, send: Send, **_: Any) -> None:
        until = datetime.now(UTC) + timedelta(minutes=30)
        await self._reply(send, 429, b'{"message": "banned"}', headers=[
            (b"jumpseller-bannedbyratelimit-reset", str(int(until.timestamp())).encode())])

    async def _status(self, send: Send, *, key: str, query: dict[str, str], **_: Any) -> None:
        await self._reply(send, int(key), query.get("body", "").encode(),
                          query.get("ctype", "application/json"))

    async def _echo(self, send: Send, *, scope: Scope, **_: Any) -> None:
        self.seen_headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        await self._reply(send, 200, json.dumps(self.seen_headers).encode())

    async def _paced(self, send: Send, *, query: dict[str, str], **_: Any) -> None:
        """Allows ``limit`` requests per ``period`` s (sliding), like the real services."""
        limit, period = int(query["limit"]), float(query["period"])
        now = time.monotonic()
        while self.arrivals and self.arrivals[0] <= now - period:
            self.arrivals.popleft()
        if len(self.arrivals) >= limit:
            self.limited[query["run"]] += 1
            await self._reply(send, 429, b'{"message": "slow down"}',
                              headers=[(b"retry-after", b"0")])
            return
        self.arrivals.append(now)
        remaining = str(limit - len(self.arrivals)).encode()
        await self._reply(send, 200, b'{"ok": true}',
                          headers=[(b"x-ratelimit-remaining", remaining)])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FaultyServer, str]]:
    app = FaultyServer()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical",
                            lifespan="off", timeout_graceful_shutdown=1)
    uv = uvicorn.Server(config)
    # The socket listens before the server runs: a client's connection waits in its backlog
    # until uvicorn accepts it, so nothing has to poll for "started".
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


def policy(http: httpx.AsyncClient, *, pacer: RatePacer | None = None,
           retry: RetryConfig = FAST) -> RequestPolicy:
    return RequestPolicy(http, service="Jumpseller", account="demo-store", pacer=pacer,
                         retry=retry, secrets=[TOKEN],
                         auth_message="the login or API token was refused")


def client(base: str, read: float = 5.0) -> httpx.AsyncClient:
    return make_http_client(base_url=base, timeout=httpx.Timeout(read, connect=2.0))


AUTH = httpx.BasicAuth(LOGIN, TOKEN)


# -- URLs and the client itself ---------------------------------------------------------------


def test_plain_http_is_refused_except_to_loopback() -> None:
    with pytest.raises(InsecureURLError, match=r"example\.com over plain http://"):
        check_url("http://example.com/v1")
    for ok in ("https://api.jumpseller.com/v1", "http://127.0.0.1:8123/x",
               "http://localhost:1/", "http://[::1]:9/"):
        assert check_url(ok) == ok
    with pytest.raises(InsecureURLError):
        check_url("ftp://example.com/")
    with pytest.raises(InsecureURLError) as info:
        check_url(f"https://user:{TOKEN}@example.com/")
    assert TOKEN not in str(info.value)
    with pytest.raises(InsecureURLError):
        make_http_client(base_url="http://shop.example.com")


def test_client_sends_user_agent_and_basic_auth_in_headers_only(server, arun) -> None:
    _app, base = server

    async def go() -> Any:
        async with client(base) as http:
            assert http.timeout.connect == 2.0
            assert not http.follow_redirects
            return await policy(http).request("GET", f"{base}/echo/x", auth=AUTH)

    seen = arun(go())
    assert seen["user-agent"] == USER_AGENT and USER_AGENT.startswith("InvoiceDesk/")
    assert seen["authorization"].startswith("Basic ")


def test_default_timeouts_are_explicit() -> None:
    http = make_http_client(base_url="https://api.jumpseller.com/v1")
    assert (http.timeout.connect, http.timeout.read) == (5.0, 20.0)
    assert TOKEN not in repr(http)


# -- reads recover ------------------------------------------------------------------------------


def test_get_retries_500s_then_succeeds(server, arun) -> None:
    app, base = server

    async def go() -> tuple[Any, RequestPolicy]:
        async with client(base) as http:
            p = policy(http)
            return await p.request("GET", f"{base}/flaky/a?fail=2"), p

    data, p = arun(go())
    assert data == {"ok": True, "hits": 3}
    assert app.hits["/flaky/a"] == 3
    assert p.stats.retries == 2


def test_get_gives_up_after_bounded_attempts(server, arun) -> None:
    app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request("GET", f"{base}/flaky/b?fail=99&code=503")

    with pytest.raises(UnavailableError, match="HTTP 503"):
        arun(go())
    assert app.hits["/flaky/b"] == FAST.max_attempts


@pytest.mark.parametrize("kind", ["html", "truncate", "slow", "drop"])
def test_get_recovers_from_each_fault(server, arun, kind: str) -> None:
    app, base = server

    async def go() -> Any:
        async with client(base, read=0.3) as http:
            return await policy(http).request("GET", f"{base}/{kind}/once?fail=1&delay=1.0")

    assert arun(go())
    assert app.hits[f"/{kind}/once"] == 2


def test_get_that_keeps_getting_html_is_malformed_and_names_only_the_path(server, arun) -> None:
    app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request(
                "GET", f"{base}/html/always?fail=99&code=200&secret={TOKEN}")

    with pytest.raises(MalformedResponseError) as info:
        arun(go())
    text = str(info.value)
    assert "web page" in text and "/html/always" in text
    assert TOKEN not in text and "secret=" not in text and "?" not in text
    assert app.hits["/html/always"] == FAST.max_attempts


def test_truncated_json_is_malformed(server, arun) -> None:
    _app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request("GET", f"{base}/truncate/always?fail=99")

    with pytest.raises(MalformedResponseError, match="not complete or not valid JSON"):
        arun(go())


# -- 429 and bans ------------------------------------------------------------------------------


def test_429_honours_retry_after_seconds(server, arun) -> None:
    app, base = server
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> Any:
        async with client(base) as http:
            p = RequestPolicy(http, service="Jumpseller", account="demo-store", retry=FAST,
                              sleep=record)
            return await p.request("GET", f"{base}/limited/a?fail=2&after=3")

    assert arun(go()) == {"ok": True}
    assert slept == [3.0, 3.0]
    assert app.hits["/limited/a"] == 3


def test_429_with_a_pacer_holds_every_request_of_the_account(server, arun) -> None:
    _app, base = server
    pacer = RatePacer([RateWindow(100, 1.0)])

    async def go() -> Any:
        async with client(base) as http:
            return await policy(http, pacer=pacer).request(
                "GET", f"{base}/limited/b?fail=1&after=0.05")

    assert arun(go()) == {"ok": True}
    assert pacer.waited >= 0.04  # the second attempt waited in the pacer, not in a sleep


def test_429_longer_than_we_wait_raises_with_the_wait(server, arun) -> None:
    app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request("GET", f"{base}/limited/c?fail=1&after=3600")

    with pytest.raises(RateLimitedError) as info:
        arun(go())
    assert info.value.retry_after == 3600
    assert app.hits["/limited/c"] == 1


def test_retry_after_accepts_an_http_date() -> None:
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True),
                             now=now) == 7
    assert parse_retry_after("2") == 2
    assert parse_retry_after("soon") is None


def test_ban_raises_at_once_says_until_when_and_blocks_later_requests(server, arun) -> None:
    app, base = server
    pacer = RatePacer.jumpseller()

    async def go() -> None:
        async with client(base) as http:
            await policy(http, pacer=pacer).request("GET", f"{base}/ban/x")

    with pytest.raises(BannedError) as info:
        arun(go())
    until = info.value.until
    assert until is not None and until > datetime.now(UTC) + timedelta(minutes=29)
    assert until.astimezone().strftime("%H:%M") in str(info.value)
    assert "local time" in str(info.value)
    with pytest.raises(BannedError):
        arun(go())
    assert app.hits["/ban/x"] == 1  # the second call never left the machine


def test_ban_reset_formats() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_ban_reset("1740835200") == datetime(2025, 3, 1, 13, 20, tzinfo=UTC)
    assert parse_ban_reset("120", now=now) == now + timedelta(minutes=2)
    assert parse_ban_reset("2025-03-01 12:30:00 UTC") == now + timedelta(minutes=30)
    assert parse_ban_reset("Sat, 01 Mar 2025 12:45:00 GMT") == now + timedelta(minutes=45)


# -- writes are never sent twice ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "read"),
    [("/slow/post?fail=1&delay=1.0", 0.3), ("/drop/post?fail=1", 5.0),
     ("/flaky/post?fail=1&code=500", 5.0), ("/html/post?fail=1", 5.0)],
)
def test_post_whose_answer_is_lost_is_sent_once_and_outcome_unknown(
        server, arun, path: str, read: float) -> None:
    app, base = server

    async def go() -> None:
        async with client(base, read=read) as http:
            await policy(http).request("POST", base + path, content=b'{"order": {"id": 1}}',
                                       headers={"Content-Type": "application/json"})

    with pytest.raises(OutcomeUnknownError, match="check before trying again"):
        arun(go())
    assert app.hits[path.split("?")[0]] == 1


def test_put_with_truncated_answer_is_not_retried(server, arun) -> None:
    app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request("PUT", f"{base}/truncate/put?fail=1", content=b"{}")

    with pytest.raises(MalformedResponseError, match="probably made"):
        arun(go())
    assert app.hits["/truncate/put"] == 1


def test_post_that_could_not_connect_is_retried(arun) -> None:
    # A port nobody listens on: the request never left, so trying again is safe.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def go() -> RequestPolicy:
        async with client(f"http://127.0.0.1:{port}") as http:
            p = policy(http)
            try:
                await p.request("POST", f"http://127.0.0.1:{port}/x", content=b"{}")
            except UnavailableError as exc:
                assert "could not connect" in str(exc)
                return p
        raise AssertionError("expected UnavailableError")

    p = arun(go())
    assert p.stats.requests == FAST.max_attempts


def test_429_on_a_write_is_retried_because_nothing_was_done(server, arun) -> None:
    app, base = server

    async def go() -> Any:
        async with client(base) as http:
            return await policy(http).request("POST", f"{base}/limited/post?fail=1&after=0",
                                              content=b"{}")

    assert arun(go()) == {"ok": True}
    assert app.hits["/limited/post"] == 2


# -- error mapping -----------------------------------------------------------------------------


def _status(base: str, code: int, body: str, ctype: str = "application/json") -> str:
    return str(httpx.URL(f"{base}/status/{code}", params={"body": body, "ctype": ctype}))


def test_401_is_auth_error_naming_the_account_without_the_token(server, arun) -> None:
    _app, base = server

    async def go() -> None:
        async with client(base) as http:
            p = policy(http)
            assert TOKEN not in repr(p)
            await p.request("GET", _status(base, 401, f'{{"message": "bad token {TOKEN}"}}'),
                            auth=AUTH)

    with pytest.raises(AuthError) as info:
        arun(go())
    text = f"{info.value} {info.value!r}"
    assert "account 'demo-store'" in text and "the login or API token was refused" in text
    assert TOKEN not in text and "body=" not in text


def test_404_is_not_found_with_the_service_message(server, arun) -> None:
    _app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request("GET", _status(base, 404, '{"message": "Order not found"}'))

    with pytest.raises(NotFoundError, match="Order not found"):
        arun(go())


@pytest.mark.parametrize(
    ("code", "body", "ctype", "messages"),
    [
        (422, '{"errors": [{"title": "Validation error", "detail": " Missing variants Size must'
              ' be selected"}, {"title": "Only a title"}]}', "application/json",
         [" Missing variants Size must be selected", "Only a title"]),
        (422, '{"errors": ["Invoice must be paid or partially sent before we can mark it as '
              'sent."]}', "application/json",
         ["Invoice must be paid or partially sent before we can mark it as sent."]),
        (400, '{"errors": ["a", "b"]}', "application/json", ["a", "b"]),
        (422, '{"message": "Customer tax ID is required for invoice generation"}',
         "application/json", ["Customer tax ID is required for invoice generation"]),
        (415, '{"errors": [{"title": "Unsupported media type", "detail": "All requests must use'
              ' the \'application/vnd.api+json\' Content-Type. ..."}]}', "application/json",
         ["All requests must use the 'application/vnd.api+json' Content-Type. ..."]),
        (409, "Conflict: document exists", "text/plain", ["Conflict: document exists"]),
        (422, "", "application/json", ["The service refused the request (HTTP 422)."]),
    ],
)
def test_rejections_carry_every_message_verbatim(server, arun, code, body, ctype,
                                                  messages) -> None:
    _app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request("PUT", _status(base, code, body, ctype), content=b"{}")

    with pytest.raises(RejectedError) as info:
        arun(go())
    assert info.value.messages == messages
    assert info.value.status == code


def test_service_messages_shapes() -> None:
    assert service_messages(b'{"errors": {"tax_id": ["is missing"]}}') == ["tax_id is missing"]
    assert service_messages(b"<html><body>oops</body></html>") == []
    assert service_messages(b'{"error": "invalid_token"}') == ["invalid_token"]


def test_echoed_secret_is_blanked_in_rejections(server, arun) -> None:
    _app, base = server

    async def go() -> None:
        async with client(base) as http:
            await policy(http).request(
                "POST", _status(base, 422, f'{{"errors": ["token {TOKEN} is not valid"]}}'),
                content=b"{}")

    with pytest.raises(RejectedError) as info:
        arun(go())
    assert info.value.messages == ["token *** is not valid"]


# -- secrets in logs ---------------------------------------------------------------------------


def test_no_secret_reaches_log_records(server, arun, caplog: pytest.LogCaptureFixture) -> None:
    _app, base = server
    caplog.set_level(logging.DEBUG)

    async def go() -> None:
        async with client(base, read=0.3) as http:
            p = policy(http)
            await p.request("GET", f"{base}/flaky/logs?fail=2", auth=AUTH)
            await p.request("GET", f"{base}/slow/logs?fail=1&delay=1.0", auth=AUTH)
            with pytest.raises(RejectedError):
                await p.request("GET", _status(base, 400, f'{{"message": "{TOKEN}"}}'), auth=AUTH)

    arun(go())
    assert any("retrying" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert LOGIN not in record.getMessage()


def test_redact_and_filter() -> None:
    assert redact(f"x {TOKEN} y {TOKEN}", [TOKEN, None, ""]) == "x *** y ***"
    assert redact("a b", ["a"]) == "a b"  # too short to be a secret
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", (TOKEN,), None)
    flt = RedactingFilter([TOKEN])
    assert flt.filter(record) and record.getMessage() == "token=***"
    assert TOKEN not in repr(flt)


# -- pacing -------------------------------------------------------------------------------------


class FakeClock:
    """Virtual time for the pacer: sleeping advances the clock instantly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_pacer_keeps_every_window_under_its_limit_and_close_to_it(arun) -> None:
    clock = FakeClock()
    pacer = RatePacer(
        [RateWindow(20, 1.0), RateWindow(50, 60.0)], margin=0.0, clock=clock, sleep=clock.sleep
    )

    async def go() -> list[float]:
        stamps = []
        for _ in range(60):
            sent = await pacer.acquire()
            pacer.release(sent)
            stamps.append(sent)
        return stamps

    stamps = arun(go())
    assert stamps[:4] == [1000.0] * 4  # a small burst, then an even pace
    assert stamps[5] - stamps[4] == pytest.approx(0.05)
    for i in range(len(stamps) - 20):
        assert stamps[i + 20] - stamps[i] >= 1.0
    assert stamps[50] - stamps[0] >= 60.0  # the minute window
    assert stamps[40] - stamps[0] <= 2.1  # and no slower than the limit needs


def test_pacer_counts_requests_in_flight_until_answered(arun) -> None:
    clock = FakeClock()
    pacer = RatePacer([RateWindow(3, 1.0)], burst=3, margin=0.0, clock=clock, sleep=clock.sleep)

    async def go() -> tuple[bool, float]:
        sent = [await pacer.acquire() for _ in range(3)]
        fourth = asyncio.ensure_future(pacer.acquire())
        for _ in range(5):
            await asyncio.sleep(0)  # let it run: it must be waiting, not sending
        blocked = not fourth.done()
        clock.now += 0.5
        pacer.release(sent[0])  # answered at 1000.5: the service counted it by then
        return blocked, await fourth

    blocked, fourth_at = arun(go())
    assert blocked
    assert fourth_at == 1001.5


def test_pacer_books_requests_someone_else_made(arun) -> None:
    clock = FakeClock()
    window = RateWindow(20, 1.0, ("X-RateLimit-Remaining",), ("X-RateLimit-Limit",))
    pacer = RatePacer([window], burst=20, margin=0.0, clock=clock, sleep=clock.sleep)

    async def one(headers: dict[str, str] | None = None) -> float:
        sent = await pacer.acquire()
        pacer.release(sent, httpx.Headers(headers) if headers is not None else None)
        return sent

    async def go() -> list[float]:
        # The service counts 15 requests: ours plus 14 from another app on the same store.
        await one({"X-RateLimit-Remaining": "5"})
        return [await one() for _ in range(6)]

    stamps = arun(go())
    assert stamps[:5] == [1000.0] * 5 and stamps[5] == 1001.0
    assert pacer.adjustments == 1
    pacer.release(clock.now, httpx.Headers({"X-RateLimit-Limit": "10"}))
    assert pacer.limits == [(10, 1.0)]


def test_paced_burst_gets_no_429_and_unpaced_does(server, arun) -> None:
    app, base = server
    window = RateWindow(10, 0.25, ("X-RateLimit-Remaining",))

    async def burst(run: str, pacer: RatePacer | None) -> None:
        async with client(base) as http:
            p = policy(http, pacer=pacer, retry=RetryConfig(base_delay=0.001, max_delay=0.01,
                                                            max_rate_limited=50))
            url = f"{base}/paced/{run}?limit=10&period=0.25&run={run}"
            await asyncio.gather(*(p.request("GET", url) for _ in range(30)))

    arun(burst("unpaced", None))
    assert app.limited["unpaced"] > 0  # the server really enforces its limit
    app.arrivals.clear()
    arun(burst("paced", RatePacer([window], margin=0.02)))
    assert app.limited["paced"] == 0
    assert app.hits["/paced/paced"] == 30


# -- concurrent pages ---------------------------------------------------------------------------


def test_pages_come_back_in_order_with_bounded_look_ahead(arun) -> None:
    running = peak = 0

    async def fetch(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(10 - n):  # later pages finish first
            await asyncio.sleep(0)
        running -= 1
        return n * 10

    async def go() -> list[tuple[int, int]]:
        return [item async for item in pages_in_order(fetch, 1, 9, ahead=3)]

    assert arun(go()) == [(n, n * 10) for n in range(1, 10)]
    assert peak == 3


def test_a_failed_page_or_an_early_stop_cancels_the_pages_in_flight(arun) -> None:
    cancelled: set[int] = set()
    never = asyncio.Event()

    async def fetch(n: int) -> int:
        if n == 1:
            return 1
        if n == 2:
            raise UnavailableError("page 2 failed")
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.add(n)
            raise
        return n

    async def failing() -> None:
        async for _ in pages_in_order(fetch, 1, 6, ahead=5):
            pass

    with pytest.raises(UnavailableError, match="page 2 failed"):
        arun(failing())
    assert cancelled == {3, 4, 5}

    cancelled.clear()

    async def stop_early() -> None:
        async with aclosing(pages_in_order(fetch, 1, 6, ahead=4)) as pages:
            async for _ in pages:
                break

    arun(stop_early())
    assert cancelled == {3, 4}


@pytest.mark.parametrize(
    "body",
    [b"[" * 200_000 + b"]" * 200_000,  # nested past Python's recursion limit
     b'{"a": ' * 50_000 + b"1" + b"}" * 50_000],
)
def test_an_answer_nested_too_deep_is_malformed_not_a_crash(body: bytes) -> None:
    from invoicedesk.transport import decode_json

    response = httpx.Response(200, content=body, request=httpx.Request("GET", "http://127.0.0.1/orders.json"))
    with pytest.raises(MalformedResponseError, match="not complete or not valid JSON") as caught:
        decode_json(response, service="Jumpseller", account="demo-store")
    assert caught.value.endpoint == "/orders.json"


def test_half_a_utf16_pair_becomes_a_replacement_character_and_whole_pairs_stay() -> None:
    from invoicedesk.transport import decode_json

    body = b'{"name\\udc01": ["Ana\\ud800", "\\ud83d\\ude00", "\\uDBFFx"], "n": 1}'
    data = decode_json(httpx.Response(200, content=body))
    assert data == {"name\ufffd": ["Ana\ufffd", "\U0001f600", "\ufffdx"], "n": 1}
    assert json.dumps(data, ensure_ascii=False).encode()  # encodes: nothing lone is left
