"""Marketplacer legacy REST Seller API v2 routes (mounted at ``/marketplacer/api/v2/client``).

Auth: ``Authorization: Bearer <api_key>``, or HTTP Basic (the staging gate) plus the key in
``MARKETPLACER-API-KEY``. PUT/POST must declare ``Content-Type: application/vnd.api+json``
(else 415 with the documented body). Wrong delivery type: 422 with JSON:API error objects;
wrong state: 422 with plain strings, as the docs show. 50 requests/s per seller, then 429 with
``Retry-After``.

``GET /invoices`` pages with ``page[number]``/``page[size]`` (default 50, clamped to 100) and
answers ``links.first/next/last`` as absolute URLs on this server (``next`` absent on the last
page) plus ``meta.total``. Naive filter timestamps are read as Melbourne time; an offset whose
``+`` was not URL-encoded arrives as a space and is refused with 400, as Rails would.
Shapes (``shapes.py``): ``next_always``, ``thin_transitions``, ``no_updated_at``,
``included_ids_reused``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .clock import marketplacer_time, parse_query_time
from .invoices import LISTED_STATUSES, ActionError, InvoiceRec, MarketplacerSeller

if TYPE_CHECKING:
    from .state import SandboxState

JSONAPI = "application/vnd.api+json"
Handler = Callable[[Request, MarketplacerSeller], Awaitable[Response]]

UNSUPPORTED_MEDIA_TYPE = {
    "errors": [{
        "title": "Unsupported media type",
        "detail": "All requests must use the 'application/vnd.api+json' Content-Type. ...",
        "id": None, "href": None, "code": 415, "source": None, "links": None,
        "status": "unsupported_media_type",
    }]
}
FILTERS = ("status", "since", "until", "updated_since", "updated_before", "include")


def _error(status: int, title: str, detail: str, code: str, source: Any = None) -> JSONResponse:
    return JSONResponse({"errors": [{"title": title, "detail": detail, "id": None, "href": None,
                                     "code": status, "source": source, "status": code}]},
                        status, media_type=JSONAPI)


def _doc(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, media_type=JSONAPI)


class _InvalidParameterError(Exception):
    def __init__(self, detail: str, parameter: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


def _time(params: Any, name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_query_time(raw)
    except ValueError:
        raise _InvalidParameterError(f"{name} must be an ISO 8601 timestamp, got {raw!r}", name) from None


def _without_updated_at(resource: dict[str, Any]) -> dict[str, Any]:
    attrs = {k: v for k, v in resource.get("attributes", {}).items() if k != "updated_at"}
    return {**resource, "attributes": attrs}


def _customer_ids_reused(resource: dict[str, Any],
                         included: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Shape ``included_ids_reused``: the show answer's fixed ids "customer" and
    "billing_customer" used for every invoice of a list page (so they clash across invoices)."""
    rels = dict(resource.get("relationships") or {})
    for role in ("customer", "billing_customer"):
        if role in rels:
            rels[role] = {"data": {"type": "customers", "id": role}}
    inc = []
    for res in included:
        if res.get("type") == "customers":
            role = "billing_customer" if str(res["id"]).startswith("billing_customer") else "customer"
            res = {**res, "id": role}
        inc.append(res)
    return {**resource, "relationships": rels}, inc


def routes(state: SandboxState) -> list[Route]:
    def authenticate(request: Request) -> MarketplacerSeller | None:
        header = request.headers.get("authorization", "")
        kind, _, cred = header.partition(" ")
        if kind.lower() == "bearer":
            key = cred.strip().encode()
            for seller in state.sellers.values():
                if hmac.compare_digest(seller.account.api_key.encode(), key):
                    return seller
            return None
        if kind.lower() == "basic":
            try:
                user, _, password = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            key = request.headers.get("marketplacer-api-key", "").strip().encode()
            for seller in state.sellers.values():
                a = seller.account
                if (a.basic_user == user
                        and hmac.compare_digest(a.basic_password.encode(), password.encode())
                        and hmac.compare_digest(a.api_key.encode(), key)):
                    return seller
        return None

    def endpoint(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            seller = authenticate(request)
            if seller is None:
                return JSONResponse({"errors": [{
                    "title": "Unauthorized",
                    "detail": "A valid API key is required (Authorization: Bearer <key>, or "
                              "HTTP Basic plus the MARKETPLACER-API-KEY header)",
                    "status": "unauthorized"}]}, 401, media_type=JSONAPI)
            verdict = state.marketplacer_limits.check(seller.name)
            if not verdict.allowed:
                response = _error(429, "Too Many Requests",
                                  "Rate limit of 50 requests per second exceeded",
                                  "too_many_requests")
                response.headers["Retry-After"] = str(verdict.retry_after)
                return response
            if request.method in ("PUT", "POST"):
                ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype != JSONAPI:
                    return _doc(UNSUPPORTED_MEDIA_TYPE, 415)
            return await fn(request, seller)

        return handle

    def base() -> str:
        return f"{state.base_url}/marketplacer/api/v2/client"

    def invoice_of(seller: MarketplacerSeller, request: Request) -> InvoiceRec | None:
        inv = seller.by_id.get(request.path_params["id"])
        return inv if inv is not None and inv.paid is not None else None

    def not_found(what: str, ident: object) -> JSONResponse:
        return _error(404, "Not found", f"Couldn't find {what} with 'id'={ident}", "not_found")

    async def read_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not an object")
        return body

    def attributes(body: dict[str, Any]) -> dict[str, Any]:
        data = body.get("data")
        attrs = data.get("attributes") if isinstance(data, dict) else None
        return attrs if isinstance(attrs, dict) else {}

    def refused(exc: ActionError) -> JSONResponse:
        if exc.kind == "state":
            return JSONResponse({"errors": [exc.message]}, 422, media_type=JSONAPI)
        source = {"pointer": exc.pointer or "/data/attributes/delivery_type"}
        title = "Invalid delivery type" if exc.kind == "delivery" else "Validation error"
        return _error(422, title, exc.message, "unprocessable_entity", source)

    def optional_text(attrs: dict[str, Any], key: str) -> str | None:
        value = attrs.get(key)
        if value is None:
            return None
        return str(value).strip() or None

    @endpoint
    async def list_invoices(request: Request, seller: MarketplacerSeller) -> Response:
        params = request.query_params
        number = max(1, _int(params.get("page[number]"), 1))
        size = _int(params.get("page[size]"), 50)
        size = 50 if size < 1 else min(size, 100)
        try:
            statuses = None
            if params.get("status"):
                statuses = frozenset(s.strip() for s in params["status"].split(",") if s.strip())
                bad = sorted(statuses - set(LISTED_STATUSES))
                if bad:
                    raise _InvalidParameterError(f"Invalid status {', '.join(bad)}; valid statuses are "
                                   f"{', '.join(LISTED_STATUSES)}", "status")
            since, until = _time(params, "since"), _time(params, "until")
            upd_since, upd_before = _time(params, "updated_since"), _time(params, "updated_before")
        except _InvalidParameterError as exc:
            return _error(400, "Invalid parameter", exc.detail, "bad_request",
                          {"parameter": exc.parameter})
        include = frozenset(p.strip() for p in (params.get("include") or "").split(",")
                            if p.strip() in ("line_items", "customer"))
        with state.lock:
            sel = seller.select(statuses, since, until, upd_since, upd_before)
            total = len(sel)
            chunk = sel[(number - 1) * size: number * size]
            data, included = [], []
            for inv in chunk:
                res, inc = seller.listed_resource(inv, include)
                if state.on("no_updated_at"):
                    res = _without_updated_at(res)
                if state.on("included_ids_reused"):
                    res, inc = _customer_ids_reused(res, inc)
                data.append(res)
                included += inc
        last = max(1, math.ceil(total / size))
        kept = [(k, params[k]) for k in FILTERS if params.get(k)]

        def link(n: int) -> str:
            query = urlencode([*kept, ("page[number]", str(n)), ("page[size]", str(size))],
                              safe="[]")
            return f"{base()}/invoices?{query}"

        links = {"first": link(1)}
        if number < last or state.on("next_always"):
            links["next"] = link(number + 1)
        links["last"] = link(last)
        body: dict[str, Any] = {"data": data, "links": links, "meta": {"total": total}}
        if include:
            body["included"] = included
        return _doc(body)

    @endpoint
    async def show(request: Request, seller: MarketplacerSeller) -> Response:
        with state.lock:
            inv = invoice_of(seller, request)
            if inv is None:
                return not_found("Invoice", request.path_params["id"])
            return _doc(shaped(seller.document(inv, base())))

    def shaped(doc: dict[str, Any]) -> dict[str, Any]:
        if state.on("no_updated_at"):
            doc = {**doc, "data": _without_updated_at(doc["data"])}
        return doc

    def thin(inv: InvoiceRec) -> dict[str, Any]:
        """Shape ``thin_transitions``: the updated invoice's status (and time), nothing else."""
        attrs: dict[str, Any] = {"status": inv.status}
        if not state.on("no_updated_at"):
            attrs["updated_at"] = seller_time(inv)
        return {"data": {"id": inv.id, "type": "invoices", "attributes": attrs}}

    def seller_time(inv: InvoiceRec) -> str:
        return marketplacer_time(inv.updated, inv.millis)

    def transition(action: str) -> Callable[[Request], Awaitable[Response]]:
        async def put(request: Request, seller: MarketplacerSeller) -> Response:
            try:
                body = await read_body(request)
            except (ValueError, UnicodeDecodeError):
                return _error(400, "Bad request", "The request body is not valid JSON",
                              "bad_request")
            attrs = attributes(body)
            with state.lock:
                inv = invoice_of(seller, request)
                if inv is None:
                    return not_found("Invoice", request.path_params["id"])
                now = state.clock.timestamp()
                try:
                    if action == "sent":
                        seller.mark_sent(inv, optional_text(attrs, "postage_tracking"),
                                         optional_text(attrs, "postage_carrier"),
                                         optional_text(attrs, "note"), now)
                    elif action == "ready":
                        seller.mark_ready(inv, now)
                    else:
                        seller.mark_collected(inv, now)
                except ActionError as exc:
                    return refused(exc)
                if state.on("thin_transitions"):
                    return _doc(thin(inv))
                return _doc(shaped(seller.document(inv, base(), customers=False,
                                                   shipments=action == "sent")))

        return endpoint(put)

    def _items_from(attrs: dict[str, Any]) -> list[tuple[int, int]] | None:
        shipped = attrs.get("shipped_items")
        if shipped is not None:
            if not isinstance(shipped, list):
                raise ActionError("invalid", "shipped_items must be a list",
                                  "/data/attributes/shipped_items")
            out = []
            for entry in shipped:
                try:
                    out.append((int(entry["line_item_id"]), int(entry["quantity"])))
                except (TypeError, KeyError, ValueError):
                    raise ActionError("invalid", "each shipped item needs an integer line_item_id "
                                      "and quantity", "/data/attributes/shipped_items") from None
            return out
        ids = attrs.get("line_item_ids", attrs.get("line_items_ids"))
        if ids is not None:
            if not isinstance(ids, list):
                raise ActionError("invalid", "line_item_ids must be a list",
                                  "/data/attributes/line_item_ids")
            return [(int(i), -1) for i in ids]  # -1: whatever is left of that line
        raise ActionError("invalid", "shipped_items is required", "/data/attributes/shipped_items")

    @endpoint
    async def shipments(request: Request, seller: MarketplacerSeller) -> Response:
        if request.method == "GET":
            with state.lock:
                inv = invoice_of(seller, request)
                if inv is None:
                    return not_found("Invoice", request.path_params["id"])
                return _doc({"data": [{"type": "shipments", "id": s.id,
                                       "attributes": seller.shipment_attributes(s)}
                                      for s in inv.shipments]})
        try:
            body = await read_body(request)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Bad request", "The request body is not valid JSON", "bad_request")
        attrs = attributes(body)
        with state.lock:
            inv = invoice_of(seller, request)
            if inv is None:
                return not_found("Invoice", request.path_params["id"])
            try:
                items = _items_from(attrs)
                if items is not None and any(q == -1 for _, q in items):
                    left = dict(seller.remaining(inv))
                    items = [(li, left.get(li, 0) if q == -1 else q) for li, q in items]
                s = seller.add_shipment(inv, optional_text(attrs, "shipment_tracking_number"),
                                        optional_text(attrs, "shipment_carrier"), items,
                                        optional_text(attrs, "note"), state.clock.timestamp())
            except ActionError as exc:
                return refused(exc)
            return _doc(seller.shipment_document(inv, s, base()), 201)

    @endpoint
    async def shipment(request: Request, seller: MarketplacerSeller) -> Response:
        body: dict[str, Any] = {}
        if request.method == "PUT":
            try:
                body = await read_body(request)
            except (ValueError, UnicodeDecodeError):
                return _error(400, "Bad request", "The request body is not valid JSON",
                              "bad_request")
        with state.lock:
            inv = invoice_of(seller, request)
            if inv is None:
                return not_found("Invoice", request.path_params["id"])
            sid = request.path_params["sid"]
            s = next((x for x in inv.shipments if x.id == sid), None)
            if s is None:
                return not_found("Shipment", sid)
            if request.method == "PUT":
                attrs = attributes(body)
                if "shipment_tracking_number" in attrs:
                    s.tracking = optional_text(attrs, "shipment_tracking_number")
                if "shipment_carrier" in attrs:
                    s.carrier = optional_text(attrs, "shipment_carrier")
                if "note" in attrs:
                    s.note = optional_text(attrs, "note")
                inv.updated = max(state.clock.timestamp(), inv.updated + 1)
                seller.version += 1
            return _doc(seller.shipment_document(inv, s, base()))

    return [
        Route("/invoices", list_invoices, methods=["GET"]),
        Route("/invoices/{id:int}", show, methods=["GET"]),
        Route("/invoices/{id:int}/sent", transition("sent"), methods=["PUT"]),
        Route("/invoices/{id:int}/ready", transition("ready"), methods=["PUT"]),
        Route("/invoices/{id:int}/collected", transition("collected"), methods=["PUT"]),
        Route("/invoices/{id:int}/shipments", shipments, methods=["GET", "POST"]),
        Route("/invoices/{id:int}/shipments/{sid:int}", shipment, methods=["GET", "PUT"]),
    ]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
