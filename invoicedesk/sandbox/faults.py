"""Faults on demand, per service, applied at the ASGI level in front of each service.

What each kind does to a request that it hits:

- ``latency``: waits ``delay`` seconds (default 0.5), then serves normally.
- ``500`` / ``503`` / ``429``: answers at once with that status; the request is NOT performed.
  503 and 429 carry ``Retry-After: 1``.
- ``html``: a 502 with an HTML page from a "proxy"; the request is NOT performed.
- ``truncate``: the request IS performed; the JSON body arrives cut short (status and framing
  intact, so only parsing fails).
- ``drop``: the request IS performed; headers and part of the body are sent, then the
  connection is closed.
- ``surrogate``: the request IS performed; every free-text field of the JSON answer (names,
  notes, cities) ends in half a UTF-16 pair written as an escape (``\\ud800``): valid JSON,
  not valid Unicode, as a service that cuts text by UTF-16 units sends it.
- ``slow``: the request IS performed; the answer waits ``delay`` seconds (default 2.0), so a
  client with a shorter timeout cannot know the outcome.

``count=N`` hits the next N requests of that service; otherwise ``rate`` is the share of
requests hit, drawn from a seeded RNG. Faults are checked before authentication and rate limits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from random import Random
from typing import Any

KINDS = ("latency", "500", "503", "429", "html", "truncate", "drop", "slow", "surrogate")
#: The free-text fields the ``surrogate`` fault damages, in either service's answers.
FREE_TEXT = frozenset({"name", "surname", "first_name", "last_name", "company", "note", "city"})
SERVICES = ("jumpseller", "marketplacer", "invoicing")
DEFAULT_DELAY = {"latency": 0.5, "slow": 2.0}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DroppedConnectionError(Exception):
    """Raised after a partial body so the server closes the connection (the ``drop`` fault)."""


class _QuietDrops(logging.Filter):
    """Keeps the deliberate ``drop`` fault out of the server's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnectionError)


def quiet_drop_logs() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


@dataclass
class Fault:
    kind: str
    rate: float
    count: int | None
    delay: float

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "rate": self.rate, "count": self.count, "delay": self.delay}


class FaultBook:
    """Which faults are armed per service; thread-safe, deterministic for a given seed."""

    def __init__(self, seed: int) -> None:
        self._faults: dict[str, list[Fault]] = {s: [] for s in SERVICES}
        self._rng = {s: Random(f"{seed}-faults-{s}") for s in SERVICES}
        self._lock = threading.Lock()

    def inject(self, service: str, kind: str, rate: float = 1.0, count: int | None = None,
               delay: float = 0.0) -> None:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        if delay < 0:
            raise ValueError("delay cannot be negative")
        with self._lock:
            self._faults[service].append(
                Fault(kind, rate, count, delay if delay > 0 else DEFAULT_DELAY.get(kind, 0.0)))

    def clear(self, service: str | None = None) -> None:
        with self._lock:
            for s in SERVICES if service is None else (service,):
                if s not in self._faults:
                    raise ValueError(f"unknown service {s!r}")
                self._faults[s] = []

    def pick(self, service: str) -> Fault | None:
        """The fault hitting this request, if any (counted faults first, in the order armed)."""
        with self._lock:
            faults = self._faults.get(service)
            if not faults:
                return None
            for f in faults:
                if f.count is not None:
                    f.count -= 1
                    if f.count <= 0:
                        faults.remove(f)
                    return f
            rng = self._rng[service]
            for f in faults:
                if rng.random() < f.rate:
                    return f
            return None

    def describe(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {s: [f.describe() for f in fs] for s, fs in self._faults.items()}


_HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
             b"</body>\r\n</html>\r\n")


def _error_body(service: str, status: int) -> bytes:
    text = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}[status]
    if service == "marketplacer":
        body: Any = {"errors": [{"title": text, "detail": text, "status": text.lower().replace(" ", "_")}]}
    else:
        body = {"message": text}
    return json.dumps(body).encode()


def _with_lone_surrogates(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body

    def damage(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (v + "\ud800" if k in FREE_TEXT and isinstance(v, str) else damage(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [damage(v) for v in value]
        return value

    return json.dumps(damage(data), ensure_ascii=True).encode()


async def _plain(send: Send, status: int, body: bytes, content_type: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()),
               (b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class FaultGate:
    """ASGI wrapper in front of one service: counts requests and applies armed faults."""

    def __init__(self, app: ASGIApp, service: str, book: FaultBook,
                 on_request: Callable[[str], None], wait: Callable[[float], Awaitable[None]]) -> None:
        self.app = app
        self.service = service
        self.book = book
        self.on_request = on_request
        self.wait = wait  # sleeps, but wakes early when the server shuts down

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.on_request(self.service)
        fault = self.book.pick(self.service)
        if fault is None:
            await self.app(scope, receive, send)
            return
        kind = fault.kind
        if kind == "latency":
            await self.wait(fault.delay)
            await self.app(scope, receive, send)
        elif kind in ("500", "503", "429"):
            status = int(kind)
            extra = [(b"retry-after", b"1")] if status in (503, 429) else []
            await _plain(send, status, _error_body(self.service, status), "application/json", extra)
        elif kind == "html":
            await _plain(send, 502, _HTML_502, "text/html")
        else:
            start, body = await self._capture(scope, receive)
            if kind == "slow":
                await self.wait(fault.delay)
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
            elif kind == "surrogate":
                damaged = _with_lone_surrogates(body)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(damaged)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": damaged, "more_body": False})
            elif kind == "truncate":
                cut = body[: max(1, len(body) // 2)] if len(body) > 1 else b"{"
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(cut)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": cut, "more_body": False})
            else:  # drop
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(max(len(body), 2) + 64).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body[: len(body) // 2],
                            "more_body": True})
                await asyncio.sleep(0)
                raise DroppedConnectionError(self.service)

    async def _capture(self, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
        """Run the real handler (the write happens) and keep its answer for damaging."""
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        return start, b"".join(chunks)
