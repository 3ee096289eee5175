"""Marketplacer seller data: invoices, line items, shipments, and the invoice state machine.

Invoices are small records; line items, customers and money are rebuilt from each invoice's
seed. Quirks follow the public docs: money as strings in several spellings ("100.0", "10",
"100."), ids as strings in lists and integers in single documents and included entries,
timestamps in Melbourne time with +10:00/+11:00, line-item ``tax_total`` always "0.0", comma-
separated ``postage_tracking``/``postage_carrier`` when there are several shipments, and on a
small share of sent invoices a ``collected_at`` that cannot exist ("2020-13-11T...").

Listing order is ``paid_at`` ascending, then id. ``since``/``updated_since`` are inclusive,
``until``/``updated_before`` exclusive. ``updated_at`` moves on every change: to the virtual
clock, or one second past the previous value if the clock has not moved since.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from typing import Any, NamedTuple

from . import catalog as cat
from .accounts import SellerAccount
from .catalog import stable_seed
from .clock import marketplacer_date, marketplacer_impossible, marketplacer_time

BUY_ONLINE = "buy_online"
CLICK_AND_COLLECT = "click_and_collect"
AWAITING = "awaiting_payment"
LISTED_STATUSES = ("paid", "sent", "partially_sent", "ready", "collected")
CENT = Decimal("0.01")

SENT_STATE_ERROR = "Invoice must be paid or partially sent before we can mark it as sent."
READY_STATE_ERROR = "Invoice must be paid before we can mark it as ready."
COLLECTED_STATE_ERROR = "Invoice must be ready before we can mark it as collected."
SHIPMENT_STATE_ERROR = "Invoice must be paid or partially sent before we can add a shipment."


def _between(r: Random, low: int, high: int) -> int:
    """``r.randint`` without its overhead (generation draws hundreds of thousands of these)."""
    return low + int(r.random() * (high - low + 1))


class LineItem(NamedTuple):
    id: int
    advert: int
    variant: str
    quantity: int
    price: Decimal


@dataclass(slots=True)
class Shipment:
    id: int
    tracking: str | None
    carrier: str | None
    link: str | None
    note: str | None
    dispatched: int
    date_only: bool
    items: list[tuple[int, int]] | None  # (line_item_id, quantity); None: all that was left


@dataclass(slots=True)
class InvoiceRec:
    id: int
    seed: int
    delivery: str
    status: str
    created: int
    paid: int | None
    updated: int
    ready: int | None = None
    collected: int | None = None
    millis: bool = True
    weird: bool = False
    shipments: list[Shipment] = field(default_factory=list)


class ActionError(Exception):
    """A refused PUT/POST: ``kind`` is "delivery" (object-form 422), "state" (string-form 422)
    or "invalid" (object-form 422 with a source pointer)."""

    def __init__(self, kind: str, message: str, pointer: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.pointer = pointer


def money(d: Decimal, style: int) -> str:
    """Marketplacer's money strings: "100.0", "100" or "100." for whole amounts, else "99.95"."""
    if d == d.to_integral_value():
        whole = int(d)
        return (f"{whole}.0", f"{whole}", f"{whole}.")[style % 3]
    text = format(d.normalize(), "f")
    return text


class MarketplacerSeller:
    """One seller's invoices; all access goes through the sandbox lock."""

    def __init__(self, account: SellerAccount, *, index: int, seed: int, invoices: int,
                 now: int) -> None:
        self.account = account
        self.name = account.name
        self.seller_id = 78 + index
        self.seed = seed
        self.invoices: list[InvoiceRec] = []
        self.by_id: dict[int, InvoiceRec] = {}
        self.listed: list[InvoiceRec] = []
        self.version = 0
        self._cache: dict[tuple[object, ...], list[InvoiceRec]] = {}
        self._rendered: dict[tuple[object, ...], tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self._initial = invoices
        self._span = max(120 * 86400, invoices * 900)
        self._next_shipment = 5000 + index * 1_000_000
        self._generate(invoices, now, index)

    # ---- derived data ---------------------------------------------------------------------------

    def items(self, inv: InvoiceRec) -> list[LineItem]:
        r = Random(inv.seed)
        n = r.choices((1, 2, 3, 4), (50, 30, 15, 5))[0]
        out = []
        for k in range(n):
            a = r.randrange(len(cat.BIKE_ADVERTS))
            advert = cat.BIKE_ADVERTS[a]
            qty = r.choices((1, 2, 3), (75, 20, 5))[0]
            out.append(LineItem(inv.id * 10 + k + 1, a, r.choice(advert[3]), qty, advert[4]))
        return out

    def shipped_quantities(self, inv: InvoiceRec) -> dict[int, int]:
        done: dict[int, int] = {}
        for s in inv.shipments:
            if s.items is None:  # it took everything left: the invoice is fully shipped
                return {li.id: li.quantity for li in self.items(inv)}
            for li, q in s.items:
                done[li] = done.get(li, 0) + q
        return done

    def shipment_items(self, inv: InvoiceRec, shipment: Shipment) -> list[tuple[int, int]]:
        """What a shipment carried; generated ones that "took the rest" are worked out here."""
        if shipment.items is not None:
            return shipment.items
        before: dict[int, int] = {}
        for s in inv.shipments:
            if s is shipment:
                break
            for li, q in self.shipment_items(inv, s):
                before[li] = before.get(li, 0) + q
        return [(li.id, li.quantity - before.get(li.id, 0)) for li in self.items(inv)
                if li.quantity - before.get(li.id, 0) > 0]

    def remaining(self, inv: InvoiceRec) -> list[tuple[int, int]]:
        done = self.shipped_quantities(inv)
        return [(li.id, li.quantity - done.get(li.id, 0)) for li in self.items(inv)
                if li.quantity - done.get(li.id, 0) > 0]

    def _amounts(self, inv: InvoiceRec) -> dict[str, Decimal]:
        r = Random(inv.seed ^ 0xA5A5)
        items = sum((li.price * li.quantity for li in self.items(inv)), Decimal(0))
        postage = (r.choice((Decimal(0), Decimal("9.95"), Decimal(10), Decimal(15)))
                   if inv.delivery == BUY_ONLINE else Decimal(0))
        discount = (r.choice((Decimal(10), (items * Decimal("0.05")).quantize(CENT)))
                    if r.random() < 0.15 else Decimal(0))
        subtotal = items + postage
        total = subtotal - discount
        return {
            "postage": postage, "postage_before_discount": postage, "subtotal": subtotal,
            "discount": discount, "total": total,
            "tax_on_postage": (postage / 11).quantize(CENT, rounding=ROUND_HALF_UP),
            "tax_total": (total / 11).quantize(CENT, rounding=ROUND_HALF_UP),
        }

    def _customer(self, inv: InvoiceRec, billing: bool) -> dict[str, Any]:
        r = Random(inv.seed ^ 0xC0FFEE)
        first, last = r.choice(cat.AU_FIRST), r.choice(cat.AU_LAST)
        city, state, postcode = r.choice(cat.AU_PLACES)
        company = r.choice(cat.AU_COMPANIES) if r.random() < 0.2 else None
        email = f"{first.lower()}.{last.lower()}{r.randint(1, 99)}@example.com"
        phone = f"04{r.randint(10, 99)}{r.randint(100000, 999999)}"
        address = f"{r.randint(1, 300)} {r.choice(cat.AU_STREETS)}"
        if billing:
            if r.random() < 0.3:
                email = email.replace("@", "+billing@")
            if r.random() < 0.1:
                first, last = r.choice(cat.AU_FIRST), r.choice(cat.AU_LAST)
        return {"first_name": first, "surname": last, "company_name": company,
                "email_address": email, "phone": phone, "address": address, "city": city,
                "state": state, "postcode": postcode, "country": "Australia"}

    def postage_tracking(self, inv: InvoiceRec) -> tuple[str | None, str | None]:
        tracks = [s.tracking for s in inv.shipments if s.tracking]
        carriers = [s.carrier for s in inv.shipments if s.carrier]
        return (", ".join(tracks) or None, ", ".join(carriers) or None)

    # ---- JSON:API ---------------------------------------------------------------------------

    def attributes(self, inv: InvoiceRec) -> dict[str, Any]:
        r = Random(inv.seed ^ 0x1234)
        a = self._amounts(inv)
        styles = {k: r.choices((0, 1, 2), (70, 20, 10))[0] for k in a}
        tracking, carrier = self.postage_tracking(inv)
        t = inv.millis
        collected = marketplacer_time(inv.collected, t) if inv.collected else None
        if inv.weird and inv.status == "sent" and inv.shipments:
            collected = marketplacer_impossible(inv.shipments[-1].dispatched)
        expected = (marketplacer_date(inv.paid + 3 * 86400) if inv.paid and r.random() < 0.6
                    else None)
        external = f"{r.getrandbits(24):06x}" if r.random() < 0.5 else None
        metadata = [{"key": "SomeKey", "value": "Some Value"}] if r.random() < 0.1 else []
        return {
            "postage": money(a["postage"], styles["postage"]),
            "postage_before_discount": money(a["postage_before_discount"], 0),
            "paid_at": marketplacer_time(inv.paid, t) if inv.paid else None,
            "status": inv.status,
            "delivery_type": inv.delivery,
            "ready_at": marketplacer_time(inv.ready, t) if inv.ready else None,
            "collected_at": collected,
            "subtotal": money(a["subtotal"], styles["subtotal"]),
            "discount": money(a["discount"], styles["discount"]),
            "total": money(a["total"], styles["total"]),
            "tax_on_postage": money(a["tax_on_postage"], 0),
            "tax_total": money(a["tax_total"], 0),
            "created_at": marketplacer_time(inv.created, t),
            "updated_at": marketplacer_time(inv.updated, t),
            "tax_inclusive": True,
            "message_to_seller": r.choice(cat.SELLER_MESSAGES),
            "expected_delivery_date": expected,
            "expected_delivery_slot": r.choice(("Morning", "Afternoon", None)) if expected else None,
            "seller_id": self.seller_id,
            "postage_tracking": tracking,
            "postage_carrier": carrier,
            "external_id": external,
            "metadata": metadata,
        }

    def line_item_resource(self, li: LineItem) -> dict[str, Any]:
        taxon, brand, advert, _variants, _price = cat.BIKE_ADVERTS[li.advert]
        subtotal = li.price * li.quantity
        return {
            "id": li.id,
            "type": "line_items",
            "attributes": {
                "price": money(li.price, 0),
                "status": "allocated",
                "subtotal": money(subtotal, 2),
                "tax_total": "0.0",
                "original_tax_rate": None,
                "total": money(subtotal, 0),
                "quantity": li.quantity,
                "taxon_name": taxon,
                "brand_name": brand,
                "advert_name": advert,
                "advert_external_id": f"ADV{li.advert:04d}",
                "variant_name": li.variant,
                "variant_sku": (None if li.advert % 4 == 0
                                else f"SKU-{li.advert:03d}-{li.variant[:3].upper()}"),
                "variant_barcode": f"0871761{li.advert:03d}{abs(hash_int(li.variant)) % 10000:04d}",
                "variant_external_id": f"VAR{li.advert:04d}",
            },
        }

    def shipment_attributes(self, s: Shipment) -> dict[str, Any]:
        return {
            "shipment_tracking_number": s.tracking,
            "shipment_carrier": s.carrier,
            "shipment_tracking_link": s.link,
            "note": s.note,
            "dispatched_at": (marketplacer_date(s.dispatched) if s.date_only
                              else marketplacer_time(s.dispatched, True)),
        }

    def list_resource(self, inv: InvoiceRec,
                      include: frozenset[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """An invoice as ``GET /invoices`` lists it (string id) and what it adds to ``included``."""
        res: dict[str, Any] = {"type": "invoices", "id": str(inv.id),
                               "attributes": self.attributes(inv)}
        included: list[dict[str, Any]] = []
        if include:
            rel: dict[str, Any] = {}
            if "line_items" in include:
                items = self.items(inv)
                rel["line_items"] = {"data": [{"type": "line_items", "id": str(li.id)} for li in items]}
                included += [self.line_item_resource(li) for li in items]
            if "customer" in include:
                for role in ("customer", "billing_customer"):
                    cid = f"{role}-{inv.id}"
                    rel[role] = {"data": {"type": "customers", "id": cid}}
                    included.append({"id": cid, "type": "customers",
                                     "attributes": self._customer(inv, role == "billing_customer")})
            res["relationships"] = rel
        return res, included

    def listed_resource(self, inv: InvoiceRec,
                        include: frozenset[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """``list_resource`` remembered until the invoice changes, for the list endpoint.

        Rendering regenerates each invoice's details from its seed (about 0.2 ms an invoice);
        remembering them lets the sandbox serve pages of 100 at the real service's 50 pages/s
        on one core. Every change bumps ``updated`` (and status/shipments), so the key moves.
        The result is shared: callers serialize it and must not change it.
        """
        key = (inv.id, inv.updated, inv.status, inv.paid, len(inv.shipments), include)
        hit = self._rendered.get(key)
        if hit is None:
            hit = self._rendered[key] = self.list_resource(inv, include)
        return hit

    def document(self, inv: InvoiceRec, base: str, *, customers: bool = True,
                 shipments: bool = True) -> dict[str, Any]:
        """A single-invoice document (``GET /invoices/{id}`` and the PUT answers)."""
        items = self.items(inv)
        rel: dict[str, Any] = {
            "line_items": {"data": [{"type": "line_items", "id": li.id} for li in items]},
        }
        included: list[dict[str, Any]] = [self.line_item_resource(li) for li in items]
        if shipments:
            rel["shipments"] = {"data": [{"type": "shipments", "id": s.id} for s in inv.shipments]}
        if customers:
            rel["customer"] = {"data": {"type": "customers", "id": "customer"}}
            rel["billing_customer"] = {"data": {"type": "customers", "id": "billing_customer"}}
            included.append({"id": "customer", "type": "customers",
                             "attributes": self._customer(inv, False)})
            included.append({"id": "billing_customer", "type": "customers",
                             "attributes": self._customer(inv, True)})
        if shipments:
            included += [{"id": s.id, "type": "shipments", "attributes": self.shipment_attributes(s)}
                         for s in inv.shipments]
        return {
            "links": {"self": f"{base}/invoices/{inv.id}"},
            "data": {"id": inv.id, "type": "invoices", "attributes": self.attributes(inv),
                     "relationships": rel},
            "included": included,
        }

    def shipment_document(self, inv: InvoiceRec, s: Shipment, base: str) -> dict[str, Any]:
        items = {li.id: li for li in self.items(inv)}
        carried = self.shipment_items(inv, s)
        shipped_ids = [li for li, _ in carried]
        return {
            "links": {"self": f"{base}/shipments/{s.id}"},
            "data": {
                "id": s.id, "type": "shipments", "attributes": self.shipment_attributes(s),
                "relationships": {
                    "line_items": {"data": [{"type": "line_items", "id": i} for i in shipped_ids]},
                    "invoice": {"data": {"type": "invoices", "id": inv.id}},
                    "shipped_items": {"data": [{"type": "shipped_items"} for _ in carried]},
                },
            },
            "included": [self.line_item_resource(items[i]) for i in shipped_ids if i in items]
            + [{"id": None, "type": "shipped_items", "attributes": {"line_item_id": li, "quantity": q}}
               for li, q in carried],
        }

    # ---- selection ------------------------------------------------------------------------------

    def select(self, statuses: frozenset[str] | None, since: int | None, until: int | None,
               updated_since: int | None, updated_before: int | None) -> list[InvoiceRec]:
        key = (self.version, statuses, since, until, updated_since, updated_before)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        out = self.listed
        if statuses is not None:
            out = [i for i in out if i.status in statuses]
        if since is not None:
            out = [i for i in out if i.paid is not None and i.paid >= since]
        if until is not None:
            out = [i for i in out if i.paid is not None and i.paid < until]
        if updated_since is not None:
            out = [i for i in out if i.updated >= updated_since]
        if updated_before is not None:
            out = [i for i in out if i.updated < updated_before]
        if out is self.listed:
            return self.listed
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[key] = out
        return out

    # ---- state machine ------------------------------------------------------------------------

    def _touch(self, inv: InvoiceRec, now: int) -> None:
        inv.updated = max(now, inv.updated + 1)
        self.version += 1

    def _new_shipment(self, inv: InvoiceRec, items: list[tuple[int, int]] | None, tracking: str | None,
                      carrier: str | None, note: str | None, when: int,
                      date_only: bool = False) -> Shipment:
        self._next_shipment += 1
        link = None
        for name, base in cat.AU_CARRIERS:
            if carrier == name and tracking:
                link = base + tracking
        s = Shipment(self._next_shipment, tracking, carrier, link, note, when, date_only, items)
        inv.shipments.append(s)
        return s

    def mark_sent(self, inv: InvoiceRec, tracking: str | None, carrier: str | None,
                  note: str | None, now: int) -> None:
        if inv.delivery != BUY_ONLINE:
            raise ActionError("delivery", "Only Buy Online invoices can be marked as sent.")
        if inv.status not in ("paid", "partially_sent"):
            raise ActionError("state", SENT_STATE_ERROR)
        self._new_shipment(inv, self.remaining(inv), tracking, carrier, note, now)
        inv.status = "sent"
        self._touch(inv, now)

    def mark_ready(self, inv: InvoiceRec, now: int) -> None:
        if inv.delivery != CLICK_AND_COLLECT:
            raise ActionError("delivery", "Only Click and Collect invoices can be marked as ready.")
        if inv.status != "paid":
            raise ActionError("state", READY_STATE_ERROR)
        inv.status, inv.ready = "ready", now
        self._touch(inv, now)

    def mark_collected(self, inv: InvoiceRec, now: int) -> None:
        if inv.delivery != CLICK_AND_COLLECT:
            raise ActionError("delivery", "Only Click and Collect invoices can be marked as collected.")
        if inv.status != "ready":
            raise ActionError("state", COLLECTED_STATE_ERROR)
        inv.status, inv.collected = "collected", now
        self._touch(inv, now)

    def add_shipment(self, inv: InvoiceRec, tracking: str | None, carrier: str | None,
                     shipped: list[tuple[int, int]] | None, note: str | None, now: int) -> Shipment:
        """Partial dispatch: ``shipped`` is [(line_item_id, quantity)], None means all that is left."""
        if inv.delivery != BUY_ONLINE:
            raise ActionError("delivery", "Only Buy Online invoices can have shipments.")
        if inv.status not in ("paid", "partially_sent"):
            raise ActionError("state", SHIPMENT_STATE_ERROR)
        left = dict(self.remaining(inv))
        if shipped is None:
            shipped = list(left.items())
        if not shipped:
            raise ActionError("invalid", "shipped_items must name at least one line item",
                              "/data/attributes/shipped_items")
        merged: dict[int, int] = {}
        for li, q in shipped:
            merged[li] = merged.get(li, 0) + q
        for li, q in merged.items():
            if li not in left:
                known = {x.id for x in self.items(inv)}
                why = "is already fully shipped" if li in known else "is not on this invoice"
                raise ActionError("invalid", f"Line item {li} {why}", "/data/attributes/shipped_items")
            if q < 1 or q > left[li]:
                raise ActionError("invalid",
                                  f"Quantity {q} for line item {li} must be between 1 and {left[li]}",
                                  "/data/attributes/shipped_items")
        s = self._new_shipment(inv, list(merged.items()), tracking, carrier, note, now)
        inv.status = "sent" if not self.remaining(inv) else "partially_sent"
        self._touch(inv, now)
        return s

    # ---- generation ---------------------------------------------------------------------------

    def _list(self, inv: InvoiceRec) -> None:
        bisect.insort(self.listed, inv, key=lambda i: (i.paid or 0, i.id))

    def _units(self, inv: InvoiceRec) -> int:
        return sum(li.quantity for li in self.items(inv))

    def _settle(self, r: Random, inv: InvoiceRec, status: str, now: int) -> None:
        """Bring a paid invoice into ``status`` with plausible times and shipments."""
        assert inv.paid is not None
        inv.status = status
        inv.ready = inv.collected = None
        inv.shipments = []
        last = inv.paid
        if status in ("ready", "collected"):
            inv.ready = min(now, inv.paid + _between(r, 2 * 3600, 2 * 86400))
            last = inv.ready
        if status == "collected":
            assert inv.ready is not None
            inv.collected = min(now, inv.ready + _between(r, 3600, 3 * 86400))
            last = inv.collected
        if status in ("sent", "partially_sent"):
            carrier = cat.AU_CARRIERS[int(r.random() * len(cat.AU_CARRIERS))][0]
            when = min(now, inv.paid + 3 * 3600 + int(r.random() * 3 * 86400))
            # None stands for "everything left": most sent invoices never need their items.
            plan: list[list[tuple[int, int]] | None] = [None]
            if status == "partially_sent" or r.random() < 0.2:
                units = [(li.id, 1) for li in self.items(inv) for _ in range(li.quantity)]
                if status == "partially_sent":
                    plan = [units[: max(1, len(units) // 2)]]
                elif len(units) >= 2:
                    cut = 1 + int(r.random() * (len(units) - 1))
                    plan = [units[:cut], None]
            for part in plan:
                merged: dict[int, int] | None = None
                if part is not None:
                    merged = {}
                    for li, q in part:
                        merged[li] = merged.get(li, 0) + q
                tracking = None if r.random() < 0.05 else f"33PKP{int(r.random() * 10**7):07d}"
                s = self._new_shipment(inv, None if merged is None else list(merged.items()),
                                       tracking, carrier,
                                       "Please handle with care" if r.random() < 0.1 else None,
                                       when, date_only=r.random() < 0.3)
                if tracking is None:
                    s.carrier = None
                when = min(now, when + 3600 + int(r.random() * 86400))
            last = max(s.dispatched for s in inv.shipments)
        inv.updated = min(now, last + _between(r, 0, 600))

    def _generate(self, n: int, now: int, index: int) -> None:
        r = Random(stable_seed(self.seed, self.name, "invoices"))
        span = self._span
        start = now - span
        iid = 10_000 + index * 1_000_000
        for i in range(n):
            iid += 2 if r.random() < 0.05 else 1
            created = start + int(span * (i + r.random() * 0.9) / n)
            delivery = BUY_ONLINE if r.random() < 0.6 else CLICK_AND_COLLECT
            inv = InvoiceRec(id=iid, seed=r.getrandbits(32), delivery=delivery, status=AWAITING,
                             created=created, paid=None, updated=created,
                             millis=r.random() < 0.7)
            self.invoices.append(inv)
            age = now - created
            if (age < 86400 and r.random() < 0.12) or r.random() < 0.02:
                continue  # awaiting payment: not listed
            inv.paid = min(now, created + _between(r, 5, 1800))
            u = r.random()
            if delivery == BUY_ONLINE:
                if age > 7 * 86400:
                    status = "sent" if u < 0.88 else "partially_sent" if u < 0.92 else "paid"
                elif age > 2 * 86400:
                    status = "sent" if u < 0.5 else "partially_sent" if u < 0.65 else "paid"
                else:
                    status = "paid" if u < 0.7 else "partially_sent" if u < 0.8 else "sent"
                if status == "partially_sent" and self._units(inv) < 2:
                    status = "sent"
            else:
                if age > 7 * 86400:
                    status = "collected" if u < 0.85 else "ready" if u < 0.9 else "paid"
                elif age > 2 * 86400:
                    status = "collected" if u < 0.4 else "ready" if u < 0.75 else "paid"
                else:
                    status = "paid" if u < 0.6 else "ready" if u < 0.9 else "collected"
            self._settle(r, inv, status, now)
            inv.weird = status == "sent" and r.random() < 0.03
        self.by_id = {inv.id: inv for inv in self.invoices}
        self.listed = sorted((i for i in self.invoices if i.paid is not None),
                             key=lambda i: (i.paid or 0, i.id))
        self._force_coverage(r, now)

    def _force_coverage(self, r: Random, now: int) -> None:
        """Every delivery type in each of its states, and one impossible date, whatever the size."""
        wanted = [(BUY_ONLINE, s) for s in ("paid", "partially_sent", "sent")] + [
            (CLICK_AND_COLLECT, s) for s in ("paid", "ready", "collected")]
        recent = list(reversed(self.listed[-60:]))
        for delivery, status in wanted:
            if any(i.delivery == delivery and i.status == status for i in self.listed):
                continue
            for inv in recent:
                counts = sum(1 for j in self.listed if j.delivery == inv.delivery and j.status == inv.status)
                if inv.delivery == delivery and counts > 1 and (
                        status != "partially_sent" or self._units(inv) >= 2):
                    self._settle(r, inv, status, now)
                    break
            else:
                for inv in recent:
                    if inv.status == "paid" and inv.delivery != delivery:
                        others = sum(1 for j in self.listed
                                     if j.delivery == inv.delivery and j.status == "paid")
                        if others > 1 and (status != "partially_sent" or self._units(inv) >= 2):
                            inv.delivery = delivery
                            self._settle(r, inv, status, now)
                            break
        if not any(i.weird for i in self.listed):
            for inv in recent:
                if inv.status == "sent":
                    inv.weird = True
                    break

    # ---- the clock moves ------------------------------------------------------------------------

    def advance(self, r: Random, t0: int, t1: int) -> dict[str, list[int]]:
        """Seeded changes between t0 and t1: payments, new invoices, moves along the state machine."""
        hours = (t1 - t0) / 3600
        out: dict[str, list[int]] = {"paid": [], "new": [], "moved": []}
        if hours <= 0:
            return out

        def when() -> int:
            return r.randint(t0 + 1, t1)

        # 1. staff elsewhere (the marketplace's own screens) move invoices along
        nxt = {(BUY_ONLINE, "paid"): "sent", (BUY_ONLINE, "partially_sent"): "sent",
               (CLICK_AND_COLLECT, "paid"): "ready", (CLICK_AND_COLLECT, "ready"): "collected"}
        horizon = t0 - 30 * 86400
        movable = [i for i in self.listed if (i.paid or 0) >= horizon and (i.delivery, i.status) in nxt]
        p = 1 - math.exp(-hours / 72)
        moving = [i for i in movable if r.random() < p]
        if not moving and movable and hours >= 1:
            moving = [movable[0]]
        for inv in moving:
            t = when()
            target = nxt[(inv.delivery, inv.status)]
            if target == "sent":
                carrier, _ = r.choice(cat.AU_CARRIERS)
                self._new_shipment(inv, self.remaining(inv), f"33PKP{r.randint(0, 9999999):07d}",
                                   carrier, None, t)
            elif target == "ready":
                inv.ready = t
            else:
                inv.collected = t
            inv.status = target
            self._touch(inv, t)
            out["moved"].append(inv.id)
        # 2. invoices awaiting payment get paid
        waiting = [i for i in self.invoices if i.status == AWAITING and i.created >= t0 - 3 * 86400]
        for inv in waiting:
            if r.random() < 0.7:
                inv.paid = when()
                inv.status = "paid"
                inv.updated = max(inv.updated, inv.paid)
                self._list(inv)
                out["paid"].append(inv.id)
        # 3. new orders on the marketplace, paid at once
        rate = max(0.25, self._initial / (self._span / 3600))
        count = max(1, round(hours * rate * r.uniform(0.7, 1.3))) if hours >= 1 else (
            1 if r.random() < hours * rate else 0)
        iid = self.invoices[-1].id if self.invoices else 10_000
        for created in sorted(when() for _ in range(count)):
            iid += 2 if r.random() < 0.05 else 1
            inv = InvoiceRec(id=iid, seed=r.getrandbits(32),
                             delivery=BUY_ONLINE if r.random() < 0.6 else CLICK_AND_COLLECT,
                             status=AWAITING, created=created, paid=None, updated=created,
                             millis=r.random() < 0.7)
            self.invoices.append(inv)
            self.by_id[inv.id] = inv
            if r.random() < 0.1:
                continue  # still awaiting payment
            inv.paid = min(t1, created + r.randint(5, 900))
            inv.status = "paid"
            inv.updated = inv.paid
            self._list(inv)
            out["new"].append(inv.id)
        self.version += 1
        return out


def hash_int(text: str) -> int:
    """A process-independent integer from a string (barcodes must not change between runs)."""
    return stable_seed(text)
