"""Jumpseller REST API v1 routes (mounted at ``/jumpseller/v1``).

Auth is HTTP Basic ``login:token`` (or the deprecated ``?login=&authtoken=``). Every
authenticated answer carries the per-second and per-minute rate-limit headers; past a limit the
answer is 429 with ``Retry-After``, and after 30 refusals within a minute the store is banned for
60 s (429 with ``Jumpseller-BannedByRateLimit-Reset``, unix seconds). Shapes (``shapes.py``):
``rate_limit_403`` refuses with 403 and no ``Retry-After``; ``ban_reset_iso`` writes the reset
as an ISO time.

Lists: ``/orders.json`` and ``/orders/status/{status}.json`` newest first (id descending);
``/orders/after/{id}.json`` oldest first. ``limit`` defaults to 50 and is clamped to 100; a page
shorter than ``limit`` is the last. Date filters are relative to the sandbox clock, in UTC.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .orders import STATUSES, JumpsellerStore, OrderRec
from .ratelimit import Verdict

if TYPE_CHECKING:
    from .state import SandboxState

Handler = Callable[[Request, JumpsellerStore], Awaitable[Response]]
DOC_TYPE_WORDS = {"1": 1, "0": 0, "1 - invoice": 1, "0 - credit note": 0, "invoice": 1,
                  "credit note": 0}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _paging(params: QueryParams) -> tuple[int, int]:
    page = max(1, _int(params.get("page"), 1))
    limit = _int(params.get("limit"), 50)
    if limit < 1:
        limit = 50
    return page, min(limit, 100)


class BadRequestError(Exception):
    pass


def _statuses(params: QueryParams) -> frozenset[str] | None:
    values = params.getlist("status_filters[]") + params.getlist("status_filters")
    parts = {p.strip() for v in values for p in v.split(",") if p.strip()}
    return frozenset(parts) if parts else None


def _fulfillment(params: QueryParams) -> frozenset[str] | None:
    raw = params.get("fulfillment_filters")
    if not raw:
        return None
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


def _day(text: str | None, name: str) -> int:
    if not text:
        raise BadRequestError(f"{name} is required with dateFilter=customDate (YYYY-MM-DD)")
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise BadRequestError(f"{name} must be a date like 2024-11-05") from None
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _date_range(params: QueryParams, now: int) -> tuple[int | None, int | None]:
    f = params.get("dateFilter")
    if not f:
        return None, None
    midnight = now - now % 86400
    if f == "today":
        return midnight, midnight + 86400
    if f == "yesterday":
        return midnight - 86400, midnight
    days = {"last7days": 7, "last30days": 30, "last90days": 90}.get(f)
    if days is not None:
        return now - days * 86400, None
    if f == "customDate":
        lo = _day(params.get("initialDate"), "initialDate")
        hi = _day(params.get("finalDate"), "finalDate") + 86400
        return lo, hi
    raise BadRequestError(f"Unknown dateFilter {f!r}")


def _language(params: QueryParams) -> str | None:
    loc = (params.get("locale") or "").lower()
    if loc.startswith("es"):
        return "es"
    if loc.startswith("en"):
        return "en"
    return None


def _fields(params: QueryParams) -> list[str] | None:
    raw = params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def _render(store: JumpsellerStore, recs: list[OrderRec], params: QueryParams,
            shapes: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    lang = _language(params)
    fields = _fields(params)
    out = []
    for rec in recs:
        body = store.reshape(store.payload(rec, lang), shapes)
        if fields:
            body = {"order": {k: v for k, v in body["order"].items() if k in fields}}
        out.append(body)
    return out


def _rate_headers(v: Verdict, shapes: frozenset[str] = frozenset()) -> dict[str, str]:
    headers = {
        "Jumpseller-PerSecondRateLimit-Limit": "20",
        "Jumpseller-PerSecondRateLimit-Remaining": str(v.per_second_remaining),
        "Jumpseller-PerMinuteRateLimit-Limit": "800",
        "Jumpseller-PerMinuteRateLimit-Remaining": str(v.per_minute_remaining or 0),
    }
    if not v.allowed and "rate_limit_403" not in shapes:
        headers["Retry-After"] = str(v.retry_after)
    if v.banned_until is not None:
        headers["Jumpseller-BannedByRateLimit-Reset"] = (
            datetime.fromtimestamp(v.banned_until, UTC).isoformat()
            if "ban_reset_iso" in shapes else str(v.banned_until))
    return headers


def routes(state: SandboxState) -> list[Route]:
    def authenticate(request: Request) -> JumpsellerStore | None:
        login: str | None = None
        token: str | None = None
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            login, _, token = decoded.partition(":")
        elif not header:
            login = request.query_params.get("login")
            token = request.query_params.get("authtoken")
        store = state.stores.get(login or "")
        if store is None or token is None:
            return None
        if not hmac.compare_digest(store.account.token.encode(), token.encode()):
            return None
        return store

    def endpoint(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            store = authenticate(request)
            if store is None:
                return JSONResponse(
                    {"message": "Unauthorized: wrong or missing login and authtoken"}, 401,
                    headers={"WWW-Authenticate": 'Basic realm="Jumpseller API"'})
            verdict = state.jumpseller_limits.check(store.login)
            shapes = state.shapes
            headers = _rate_headers(verdict, shapes)
            if not verdict.allowed:
                if verdict.banned_until is not None:
                    until = datetime.fromtimestamp(verdict.banned_until, UTC).isoformat()
                    msg = f"Banned by rate limit until {until}: too many requests over the limits"
                else:
                    msg = "Too Many Requests: the limits are 20 requests per second and 800 per minute"
                status = 403 if "rate_limit_403" in shapes else 429
                return JSONResponse({"message": msg}, status, headers=headers)
            try:
                response = await fn(request, store)
            except BadRequestError as exc:
                response = JSONResponse({"errors": [str(exc)]}, 400)
            response.headers.update(headers)
            return response

        return handle

    def not_found() -> Response:
        return JSONResponse({"message": "Order not found"}, 404)

    @endpoint
    async def list_orders(request: Request, store: JumpsellerStore) -> Response:
        params = request.query_params
        page, limit = _paging(params)
        since, until = _date_range(params, state.clock.timestamp())
        with state.lock:
            sel = store.select(_statuses(params), since, until, _fulfillment(params))
            hi = len(sel) - (page - 1) * limit
            chunk = sel[max(0, hi - limit): hi][::-1] if hi > 0 else []
            body = _render(store, chunk, params, state.shapes)
        return JSONResponse(body)

    @endpoint
    async def count(request: Request, store: JumpsellerStore) -> Response:
        params = request.query_params
        since, until = _date_range(params, state.clock.timestamp())
        with state.lock:
            n = len(store.select(_statuses(params), since, until, _fulfillment(params)))
        return JSONResponse({"count": n})

    @endpoint
    async def show(request: Request, store: JumpsellerStore) -> Response:
        with state.lock:
            rec = store.by_id.get(request.path_params["id"])
            if rec is None:
                return not_found()
            body = _render(store, [rec], request.query_params, state.shapes)[0]
        return JSONResponse(body)

    @endpoint
    async def after(request: Request, store: JumpsellerStore) -> Response:
        page, limit = _paging(request.query_params)
        if state.on("paging_ignored"):
            page = 1  # the spec declares no page parameter here
        with state.lock:
            orders = store.orders
            start = bisect.bisect_right(orders, request.path_params["id"], key=lambda o: o.id)
            lo = start + (page - 1) * limit
            body = _render(store, orders[lo: lo + limit], request.query_params, state.shapes)
        return JSONResponse(body)

    @endpoint
    async def by_status(request: Request, store: JumpsellerStore) -> Response:
        status = request.path_params["status"]
        if status not in STATUSES:
            return JSONResponse({"message": "Status Invalid"}, 404)
        page, limit = _paging(request.query_params)
        if state.on("paging_ignored"):
            page = 1  # the spec declares no page parameter here
        with state.lock:
            sel = store.select(frozenset({status}), None, None, None)
            hi = len(sel) - (page - 1) * limit
            chunk = sel[max(0, hi - limit): hi][::-1] if hi > 0 else []
            body = _render(store, chunk, request.query_params, state.shapes)
        return JSONResponse(body)

    async def _document_body(request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise _UnsupportedMediaError()
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError("The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequestError("The request body must be a JSON object")
        # Rails wraps flat parameters into {"document": ...}: both spellings work.
        doc = body.get("document", body)
        if not isinstance(doc, dict):
            raise BadRequestError("document must be an object")
        return doc

    def _document_type(value: object) -> int | None:
        """1 or 0, as a number, a digit, the spec's "1 - invoice" / "0 - credit note", or a word."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int) and value in (0, 1):
            return value
        if isinstance(value, str):
            text = " ".join(value.strip().lower().replace("_", " ").split())
            return DOC_TYPE_WORDS.get(text)
        return None

    @endpoint
    async def documents(request: Request, store: JumpsellerStore) -> Response:
        oid = request.path_params["id"]
        if request.method == "GET":
            with state.lock:
                if oid not in store.by_id:
                    return not_found()
                return JSONResponse(store.documents_for(oid, state.base_url, state.shapes))
        try:
            doc = await _document_body(request)
        except _UnsupportedMediaError:
            return JSONResponse({"errors": ["Content-Type must be application/json"]}, 415)
        errors = []
        dtype = _document_type(doc.get("document_type"))
        if dtype is None:
            errors.append("Document type is invalid (1 for an invoice, 0 for a credit note)")
        for key, label in (("public_id", "Public id"), ("url", "Url")):
            if not isinstance(doc.get(key), str) or not doc[key].strip():
                errors.append(f"{label} can't be blank")
        ext = doc.get("external_id")
        if ext is not None and not isinstance(ext, str | int):
            errors.append("External id is invalid")
        with state.lock:
            if oid not in store.by_id:
                return not_found()
            if errors:
                return JSONResponse({"errors": errors}, 400)
            existing = store.documents.get(oid, [])
            if any(d["public_id"] == doc["public_id"] for d in existing):
                return JSONResponse({"errors": ["Public id has already been taken"]}, 422)
            record = {"document_type": dtype, "external_id": None if ext is None else str(ext),
                      "public_id": doc["public_id"], "url": doc["url"], "order_id": oid,
                      "app_code": None}
            store.documents.setdefault(oid, []).append(record)
            return JSONResponse({"document": store.render_document(record, state.base_url,
                                                                   state.shapes)}, 201)

    @endpoint
    async def document(request: Request, store: JumpsellerStore) -> Response:
        oid = request.path_params["id"]
        public_id = request.path_params["public_id"]
        changes: dict[str, Any] = {}
        if request.method == "PUT":
            try:
                doc = await _document_body(request)
            except _UnsupportedMediaError:
                return JSONResponse({"errors": ["Content-Type must be application/json"]}, 415)
            if "document_type" in doc:
                dtype = _document_type(doc["document_type"])
                if dtype is None:
                    return JSONResponse({"errors": ["Document type is invalid"]}, 400)
                changes["document_type"] = dtype
            for key in ("external_id", "public_id", "url"):
                if key in doc:
                    changes[key] = doc[key]
        with state.lock:
            docs = store.documents.get(oid, [])
            found = next((d for d in docs if d["public_id"] == public_id), None)
            if oid not in store.by_id or found is None:
                return JSONResponse({"message": "Document not found"}, 404)
            if request.method == "DELETE":
                docs.remove(found)
                return JSONResponse({"message": "Document deleted"})
            found.update(changes)
            return JSONResponse({"document": store.render_document(found, state.base_url,
                                                                   state.shapes)})

    @endpoint
    async def store_documents(request: Request, store: JumpsellerStore) -> Response:
        if state.on("documents_listing_refused"):
            return JSONResponse({"message": "Forbidden: this app may not list the store's "
                                            "documents"}, 403)
        page, limit = _paging(request.query_params)
        with state.lock:
            docs = store.all_documents(state.base_url, state.shapes)
        return JSONResponse(docs[(page - 1) * limit: page * limit])

    return [
        Route("/documents.json", store_documents, methods=["GET"]),
        Route("/orders.json", list_orders, methods=["GET"]),
        Route("/orders/count.json", count, methods=["GET"]),
        Route("/orders/after/{id:int}.json", after, methods=["GET"]),
        Route("/orders/status/{status}.json", by_status, methods=["GET"]),
        Route("/orders/{id:int}.json", show, methods=["GET"]),
        Route("/orders/{id:int}/documents.json", documents, methods=["GET", "POST"]),
        Route("/orders/{id:int}/documents/{public_id}.json", document, methods=["PUT", "DELETE"]),
    ]


class _UnsupportedMediaError(Exception):
    """The body is not declared as JSON."""
