"""``/_control``: drive the sandbox over HTTP (advance the clock, arm faults, switch answer
shapes, read state).

Unauthenticated on purpose, so only loopback clients get an answer.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .shapes import resolve

if TYPE_CHECKING:
    from .state import SandboxState


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def routes(state: SandboxState) -> list[Route]:
    def guarded(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if not _loopback(request):
                return JSONResponse({"message": "control endpoints answer loopback clients only"}, 403)
            try:
                return await fn(request)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"message": str(exc)}, 400)

        return handle

    @guarded
    async def advance(request: Request) -> Response:
        body = await _json(request)
        hours = float(body.get("hours", 24))
        return JSONResponse(state.advance(hours))

    @guarded
    async def inject(request: Request) -> Response:
        body = await _json(request)
        count = body.get("count")
        state.faults.inject(str(body.get("service", "")), str(body.get("kind", "")),
                            rate=float(body.get("rate", 1.0)),
                            count=None if count is None else int(count),
                            delay=float(body.get("delay", 0.0)))
        return JSONResponse({"faults": state.faults.describe()})

    @guarded
    async def clear(request: Request) -> Response:
        body = await _json(request)
        service = body.get("service")
        state.faults.clear(None if service is None else str(service))
        return JSONResponse({"faults": state.faults.describe()})

    @guarded
    async def shapes(request: Request) -> Response:
        body = await _json(request)
        wanted = body.get("shapes")
        if wanted is not None and not isinstance(wanted, list):
            raise ValueError("shapes must be a list of names")
        profile = body.get("profile")
        chosen = resolve(wanted, None if profile is None else str(profile))
        with state.lock:
            state.shapes = chosen
        return JSONResponse({"shapes": sorted(chosen)})

    @guarded
    async def describe(request: Request) -> Response:
        return JSONResponse(state.describe())

    return [
        Route("/advance", advance, methods=["POST"]),
        Route("/inject", inject, methods=["POST"]),
        Route("/clear", clear, methods=["POST"]),
        Route("/shapes", shapes, methods=["POST"]),
        Route("/state", describe, methods=["GET"]),
    ]
