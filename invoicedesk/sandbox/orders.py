"""Jumpseller store data: compact order records, payloads built on demand, seeded changes.

An order is kept as a small record (id, times, status, a seed); everything that never changes
(customer, products, addresses, money) is rebuilt from the seed when a payload is asked for.
That keeps 100,000 orders per store cheap to generate and makes every payload deterministic.

Orders are listed newest first (id descending) by ``/orders.json`` and ``/orders/status/...``;
``/orders/after/{id}.json`` goes oldest first (id ascending). Order ids start at 1001 in every
store, so two stores share ids: a cache keyed by id alone would mix them up, as it would for real.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from typing import Any

from . import catalog as cat
from .accounts import StoreAccount
from .catalog import stable_seed
from .clock import jumpseller_date
from .shapes import OTHER_APP_CODE

STATUSES = ("pending_payment", "paid", "canceled", "abandoned")
SHIPPED = ("in_transit", "delivered", "pickup_available")

# Flags forcing features on a few orders so small sandboxes still show every case.
F_GIFT_PRODUCT = 1
F_GIFT_REDEEMED = 2
F_BIZ_NO_TAXID = 4
F_BIZ_TAXID = 8

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
DOC_TYPE = {INVOICE: 1, CREDIT_NOTE: 0}
PREFIX = {INVOICE: "INV", CREDIT_NOTE: "CN"}
DOC_TYPE_TEXT = {1: "1 - invoice", 0: "0 - credit note"}
"""``document_type`` as the OpenAPI spec's enum writes it (shape ``doc_type_strings``)."""

# Shape ``statuses_pt_fr``: the status as a Portuguese or French store writes it, no enum.
STATUS_PT = {"paid": "Pago", "pending_payment": "Pendente", "canceled": "Cancelado",
             "abandoned": "Abandonado"}
STATUS_FR = {"paid": "Payé", "pending_payment": "En attente de paiement", "canceled": "Annulé",
             "abandoned": "Abandonné"}


@dataclass(slots=True)
class OrderRec:
    id: int
    created: int
    seed: int
    status: str
    completed: int | None
    ship: str  # delivery | store_pickup | no_shipping
    shipment: str  # shipment_status_enum
    iso: bool  # written with ISO 8601 dates, as older payloads are
    flags: int = 0


@dataclass(slots=True)
class Customer:
    id: int
    first: str | None
    last: str | None
    email: str
    phone: str | None
    place: int
    street: str
    number: int | None
    business: bool
    company: str | None
    activity: str | None
    taxpayer: str | None
    taxid: str | None
    taxid_mode: str  # "value" | "null" | "missing"


def _rut(r: Random, dotted: bool) -> str:
    """A Chilean RUT with a correct check digit (modulo 11)."""
    body = r.randint(6_000_000, 26_000_000)
    total, factor = 0, 2
    for ch in reversed(str(body)):
        total += int(ch) * factor
        factor = 2 if factor == 7 else factor + 1
    dv = 11 - total % 11
    check = "0" if dv == 11 else "K" if dv == 10 else str(dv)
    text = f"{body:,}".replace(",", ".") if dotted else str(body)
    return f"{text}-{check}"


def _money(d: Decimal) -> float:
    """Jumpseller money is a JSON float."""
    return float(d)


def _between(r: Random, low: int, high: int) -> int:
    """``r.randint`` without its overhead (generation draws hundreds of thousands of these)."""
    return low + int(r.random() * (high - low + 1))


class JumpsellerStore:
    """One store's orders and attached documents; all access goes through the sandbox lock."""

    def __init__(self, account: StoreAccount, *, seed: int, orders: int, now: int) -> None:
        self.account = account
        self.login = account.login
        self.language = account.language
        self.currency = account.currency
        self.seed = seed
        self.products = cat.PRODUCTS_ES if self.language == "es" else cat.PRODUCTS_EN
        if self.currency == "EUR":
            self.products = cat.PRODUCTS_EN
        self.rate = cat.TAX_RATE.get(self.currency, Decimal("0.1"))
        self.minor = cat.MINOR.get(self.currency, Decimal("0.01"))
        self.physical = [i for i, p in enumerate(self.products) if p.kind == "physical"]
        self.digital = [i for i, p in enumerate(self.products) if p.kind == "digital"]
        self.gifts = [i for i, p in enumerate(self.products) if p.kind == "gift_card"]
        self.orders: list[OrderRec] = []
        self.by_id: dict[int, OrderRec] = {}
        self.documents: dict[int, list[dict[str, Any]]] = {}
        self.doc_counters = {INVOICE: 0, CREDIT_NOTE: 0}
        self.version = 0
        self._select_cache: dict[tuple[object, ...], list[OrderRec]] = {}
        self._initial = orders
        self._span = max(120 * 86400, orders * 900)
        self.customers = self._make_customers(max(40, min(5000, orders // 3)))
        self._generate(orders, now)
        self.foreign: dict[int, list[dict[str, Any]]] = {}
        self._seed_foreign_documents()

    # ---- generation ---------------------------------------------------------------------------

    def _make_customers(self, count: int) -> list[Customer]:
        r = Random(stable_seed(self.seed, self.login, "customers"))
        es = self.language == "es"
        first, last = (cat.FIRST_ES, cat.LAST_ES) if es else (cat.FIRST_EN, cat.LAST_EN)
        places = cat.PLACES_ES if es else cat.PLACES_EN
        streets = cat.STREETS_ES if es else cat.STREETS_EN
        out: list[Customer] = []
        for i in range(count):
            fn, ln = r.choice(first), r.choice(last)
            ascii_fn = fn.lower().translate(str.maketrans("áéíóúñ ", "aeioun."))
            ascii_ln = ln.lower().translate(str.maketrans("áéíóúñ ", "aeioun."))
            domain = r.choice(("gmail.com", "outlook.com", "yahoo.com", "example.com"))
            email = f"{ascii_fn}.{ascii_ln}{r.randint(1, 99)}@{domain}"
            guest = r.random() < 0.05
            business = r.random() < 0.12
            if es:
                phone = f"+56 9 {r.randint(1000, 9999)} {r.randint(1000, 9999)}"
            else:
                phone = f"+1 (555) {r.randint(100, 999)}-{r.randint(1000, 9999)}"
            u = r.random()
            company: str | None
            activity: str | None
            taxpayer: str | None
            if business:
                mode = "value" if u < (0.85 if es else 0.75) else "null" if u < 0.95 else "missing"
                taxid = (_rut(r, r.random() < 0.6) if es
                         else f"{r.randint(10, 99)}-{r.randint(1000000, 9999999)}")
                company = r.choice(cat.COMPANIES_ES if es else cat.COMPANIES_EN)
                activity = r.choice(cat.ACTIVITIES_ES if es else cat.ACTIVITIES_EN)
                taxpayer = r.choice(("Persona Jurídica", "Empresa Individual") if es
                                    else ("Company", "Sole Proprietor"))
            else:
                if es:
                    mode = "value" if u < 0.65 else "null" if u < 0.9 else "missing"
                else:
                    mode = "value" if u < 0.05 else "null" if u < 0.6 else "missing"
                taxid = (_rut(r, r.random() < 0.6) if es
                         else f"{r.randint(100, 999)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}")
                company = activity = taxpayer = None
            out.append(Customer(
                id=2_000_000 + stable_seed(self.login) % 1000 * 10_000 + i,
                first=None if guest else fn, last=None if guest else ln, email=email,
                phone=None if r.random() < 0.1 else phone, place=r.randrange(len(places)),
                street=r.choice(streets), number=None if r.random() < 0.15 else r.randint(1, 2999),
                business=business, company=company, activity=activity, taxpayer=taxpayer,
                taxid=taxid if mode == "value" else None, taxid_mode=mode,
            ))
        # Both kinds of business customer must exist: with a tax id, and without (refused).
        for want_taxid, slot in ((False, 0), (True, 1)):
            if not any(c.business and (c.taxid is not None) == want_taxid for c in out):
                c = out[slot]
                c.business = True
                c.company = (cat.COMPANIES_ES if es else cat.COMPANIES_EN)[slot]
                c.activity = (cat.ACTIVITIES_ES if es else cat.ACTIVITIES_EN)[slot]
                c.taxpayer = "Persona Jurídica" if es else "Company"
                c.taxid = (_rut(r, True) if es else "12-3456789") if want_taxid else None
                c.taxid_mode = "value" if want_taxid else "null"
        return out

    def _new_rec(self, r: Random, oid: int, created: int, now: int, *, fresh: bool) -> OrderRec:
        age = now - created
        u = r.random()
        if fresh:
            status = ("pending_payment" if u < 0.35 else "paid" if u < 0.85
                      else "abandoned" if u < 0.95 else "canceled")
        elif age < 2 * 86400:
            status = ("pending_payment" if u < 0.30 else "paid" if u < 0.85
                      else "abandoned" if u < 0.95 else "canceled")
        else:
            status = ("paid" if u < 0.74 else "canceled" if u < 0.82
                      else "abandoned" if u < 0.97 else "pending_payment")
        v = r.random()
        ship = "delivery" if v < 0.72 else "store_pickup" if v < 0.92 else "no_shipping"
        completed: int | None = None
        if status == "paid" or (status == "canceled" and r.random() < 0.6):
            completed = min(now, created + _between(r, 30, 3600))
        rec = OrderRec(id=oid, created=created, seed=r.getrandbits(32), status=status,
                       completed=completed, ship=ship, shipment="unfulfilled",
                       iso=(not fresh) and r.random() < 0.04)
        if status == "paid":
            rec.shipment = self._shipment_for_age(r, rec, now)
        return rec

    def _shipment_for_age(self, r: Random, rec: OrderRec, now: int) -> str:
        age = now - rec.created
        w = r.random()
        if rec.ship == "no_shipping":
            return "delivered"
        if rec.ship == "store_pickup":
            if age > 5 * 86400:
                return "delivered"
            return "pickup_available" if w < 0.5 else "unfulfilled"
        if age > 10 * 86400:
            return "delivered" if w < 0.9 else "in_transit" if w < 0.98 else "failed"
        if age > 3 * 86400:
            return "in_transit" if w < 0.5 else "delivered" if w < 0.9 else "requested"
        return "unfulfilled" if w < 0.6 else "requested" if w < 0.9 else "in_transit"

    def _generate(self, n: int, now: int) -> None:
        r = Random(stable_seed(self.seed, self.login, "orders"))
        span = self._span
        start = now - span
        oid = 1000
        orders = self.orders
        for i in range(n):
            oid += 2 if r.random() < 0.04 else 1
            created = start + int(span * (i + r.random() * 0.9) / n)
            rec = self._new_rec(r, oid, created, now, fresh=False)
            # Only older payloads use ISO 8601 dates.
            if rec.iso and created > start + span * 0.2:
                rec.iso = False
            orders.append(rec)
        self.by_id = {rec.id: rec for rec in orders}
        self._force_coverage(r, now)
        self._seed_documents(r, now)

    def _force_coverage(self, r: Random, now: int) -> None:
        """Make sure each status and each awkward case appears at least once."""
        if not self.orders:
            return
        recent = self.orders[-min(len(self.orders), 40):]
        present = {rec.status for rec in self.orders}
        pool = list(reversed(recent))
        for status in STATUSES:
            if status not in present and len(pool) > 4:
                rec = pool.pop(2)
                rec.status = status
                rec.completed = (min(now, rec.created + 600) if status == "paid" else None)
                rec.shipment = "unfulfilled"
        if not any(rec.iso for rec in self.orders):
            for rec in self.orders[: max(1, len(self.orders) // 10): 3]:
                rec.iso = True  # the oldest payloads use ISO 8601 dates
        paid = [rec for rec in reversed(recent) if rec.status == "paid" and rec.ship != "no_shipping"]
        for rec, flag in zip(paid, (F_BIZ_NO_TAXID, F_GIFT_PRODUCT, F_GIFT_REDEEMED, F_BIZ_TAXID),
                             strict=False):
            rec.flags |= flag

    def _customer_index(self, rec: OrderRec) -> int:
        """The order's customer, straight from its seed (cheap enough for 100,000 orders)."""
        idx = (rec.seed >> 7) % len(self.customers)
        if rec.flags & (F_BIZ_NO_TAXID | F_BIZ_TAXID):
            want_id = bool(rec.flags & F_BIZ_TAXID)
            matches = [i for i, c in enumerate(self.customers)
                       if c.business and (c.taxid is not None) == want_id]
            if matches:
                idx = matches[idx % len(matches)]
        return idx

    def _seed_documents(self, r: Random, now: int) -> None:
        """Some orders were invoiced before the app existed: invoices, credit notes, one owed."""
        owed = 0
        for rec in self.orders:
            if now - rec.created < 86400 or rec.completed is None:
                continue
            cust = self.customers[self._customer_index(rec)]
            if cust.business and cust.taxid is None:
                continue  # the invoicing service would have refused it
            if rec.status == "paid" and r.random() < 0.45:
                self.add_document(rec.id, INVOICE)
            elif rec.status == "canceled" and r.random() < 0.5:
                self.add_document(rec.id, INVOICE)
                if r.random() < 0.8:
                    self.add_document(rec.id, CREDIT_NOTE)
                else:
                    owed += 1
        if owed == 0:
            # Cancel the newest invoiced paid order: its credit note is owed.
            for rec in reversed(self.orders):
                if rec.status == "paid" and rec.id in self.documents and rec.flags == 0:
                    rec.status = "canceled"
                    rec.shipment = "unfulfilled"
                    break

    def _seed_foreign_documents(self) -> None:
        """Documents another app (``other-billing``) attached: served only with the shape
        ``other_app_documents``. Their own random stream leaves the default data as it was."""
        r = Random(stable_seed(self.seed, self.login, "other-app-documents"))
        candidates = [rec for rec in self.orders if rec.completed is not None
                      and rec.status in ("paid", "canceled") and not rec.flags]
        chosen = [rec for rec in candidates if r.random() < 0.06]
        if not chosen and candidates:
            chosen = [candidates[len(candidates) // 2]]
        for n, rec in enumerate(chosen, 1):
            public_id = f"OB-{self.login}-{n}"
            self.foreign[rec.id] = [{
                "document_type": 1,
                "external_id": f"ob-{stable_seed(self.login, public_id):08x}",
                "public_id": public_id,
                "url": f"https://other-billing.example/{self.login}/{public_id}.pdf",
                "order_id": rec.id,
                "app_code": OTHER_APP_CODE,
            }]

    # ---- documents ----------------------------------------------------------------------------

    def next_public_id(self, kind: str) -> str:
        self.doc_counters[kind] += 1
        return f"{PREFIX[kind]}-{self.login}-{self.doc_counters[kind]}"

    def add_document(self, order_id: int, kind: str) -> dict[str, Any]:
        """Attach a document issued 'earlier' (generation); its URL is filled in when served."""
        public_id = self.next_public_id(kind)
        doc = {
            "document_type": DOC_TYPE[kind],
            "external_id": f"ext-{stable_seed(self.login, public_id):08x}",
            "public_id": public_id,
            "url": f"/invoicing/documents/{public_id}",
            "order_id": order_id,
            "app_code": None,
        }
        self.documents.setdefault(order_id, []).append(doc)
        return doc

    def _attached(self, order_id: int, shapes: frozenset[str]) -> list[dict[str, Any]]:
        own = self.documents.get(order_id, [])
        if "other_app_documents" in shapes:
            return [*self.foreign.get(order_id, []), *own]
        return list(own)

    def documented_orders(self, shapes: frozenset[str] = frozenset()) -> set[int]:
        """Ids of the orders that have at least one document (as served in ``shapes``)."""
        out = {oid for oid, docs in self.documents.items() if docs}
        if "other_app_documents" in shapes:
            out |= set(self.foreign)
        return out

    def documents_for(self, order_id: int, base_url: str,
                      shapes: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        return [{"document": self.render_document(d, base_url, shapes)}
                for d in self._attached(order_id, shapes)]

    def all_documents(self, base_url: str, shapes: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Every document of the store as ``GET /documents.json`` lists it: by order id, or
        (shape ``documents_unsorted``) in an order that is stable but follows nothing."""
        docs = [d for oid in sorted(self.documented_orders(shapes))
                for d in self._attached(oid, shapes)]
        if "documents_unsorted" in shapes:
            docs.sort(key=lambda d: stable_seed(self.seed, "listing", d["public_id"]))
        return [{"document": self.render_document(d, base_url, shapes)} for d in docs]

    @staticmethod
    def render_document(doc: dict[str, Any], base_url: str,
                        shapes: frozenset[str] = frozenset()) -> dict[str, Any]:
        out = dict(doc)
        url = out.get("url")
        if isinstance(url, str) and url.startswith("/"):
            out["url"] = base_url + url
        if "doc_type_strings" in shapes:
            out["document_type"] = DOC_TYPE_TEXT.get(out["document_type"], out["document_type"])
        return out

    # ---- selection ----------------------------------------------------------------------------

    def select(self, statuses: frozenset[str] | None, since: int | None, until: int | None,
               fulfillment: frozenset[str] | None) -> list[OrderRec]:
        """Orders matching the filters, ascending by id (cached until the data changes)."""
        key = (self.version, statuses, since, until, fulfillment)
        hit = self._select_cache.get(key)
        if hit is not None:
            return hit
        out: Iterable[OrderRec] = self.orders
        if statuses is not None:
            out = [o for o in out if o.status in statuses]
        if since is not None:
            out = [o for o in out if o.created >= since]
        if until is not None:
            out = [o for o in out if o.created < until]
        if fulfillment is not None:
            want_done = "fulfilled" in fulfillment
            want_open = "unfulfilled" in fulfillment
            out = [o for o in out
                   if (o.shipment in SHIPPED and want_done) or (o.shipment not in SHIPPED and want_open)]
        if out is self.orders:
            return self.orders
        result = list(out)
        if len(self._select_cache) > 16:
            self._select_cache.clear()
        self._select_cache[key] = result
        return result

    # ---- payloads -----------------------------------------------------------------------------

    @staticmethod
    def reshape(body: dict[str, Any], shapes: frozenset[str]) -> dict[str, Any]:
        """An order payload in the answer shapes switched on (``body`` is not changed)."""
        if "statuses_pt_fr" not in shapes:
            return body
        order = dict(body["order"])
        enum = order.pop("status_enum", None)
        if isinstance(enum, str) and "id" in order:
            words = STATUS_PT if int(order["id"]) % 2 == 0 else STATUS_FR
            for key in ("status", "status_name"):
                if key in order:
                    order[key] = words.get(enum, order[key])
        return {"order": order}

    def payload(self, rec: OrderRec, language: str | None = None) -> dict[str, Any]:
        """The ``{"order": {...}}`` body for one order, as Jumpseller would send it now."""
        lang = language or self.language
        es = self.language == "es"
        r = Random(rec.seed)
        cust = self.customers[self._customer_index(rec)]
        q = self.minor

        def rnd(d: Decimal) -> Decimal:
            return d.quantize(q, rounding=ROUND_HALF_UP)

        # -- products
        if rec.ship == "no_shipping":
            picks = [r.choice(self.digital + self.gifts) for _ in range(r.choice((1, 1, 2)))]
        else:
            picks = [r.choice(self.physical)]
            for _ in range(r.choices((0, 1, 2, 3), (55, 30, 10, 5))[0]):
                w = r.random()
                picks.append(r.choice(self.physical if w < 0.85 else self.digital if w < 0.9
                                      else self.gifts))
        if rec.flags & F_GIFT_PRODUCT and not any(self.products[i].kind == "gift_card" for i in picks):
            picks.append(self.gifts[0])
        products: list[dict[str, Any]] = []
        subtotal = discount = tax = Decimal(0)
        for k, pi in enumerate(picks):
            p = self.products[pi]
            qty = 1 if p.kind == "gift_card" else r.choice((1, 1, 1, 2, 3))
            discounted = p.kind != "gift_card" and r.random() < 0.12
            unit_disc = rnd(p.price * Decimal("0.10")) if discounted else Decimal(0)
            if p.kind == "gift_card":
                unit_tax = Decimal(0)
                taxes: list[dict[str, Any]] = []
            else:
                unit_tax = rnd((p.price - unit_disc) * self.rate)
                taxes = [{"id": 7000 + pi, "name": cat.TAX_NAME[self.language],
                          "rate": float(self.rate * 100), "fixed": False,
                          "tax_on_product_price": False}]
            option_val = r.choice(p.option[1]) if p.option else None
            subtotal += p.price * qty
            discount += unit_disc * qty
            tax += unit_tax * qty
            products.append({
                "id": 10_732_900 + pi, "variant_id": (81_899_000 + pi * 10 + p.option[1].index(option_val))
                if p.option and option_val else None,
                "sku": p.sku if r.random() > 0.03 else None, "name": p.name, "qty": qty,
                "price": _money(p.price), "tax": _money(unit_tax), "discount": _money(unit_disc),
                "weight": p.weight, "type": p.kind,
                "image": f"https://cdnx.jumpseller.com/{self.login}/image/{10_732_900 + pi}/thumb/{k}.jpg",
                "taxes": taxes,
                "options": ([{"name": p.option[0], "value": option_val, "option_type": "option"}]
                            if p.option else []),
            })
        # -- shipping and money
        es_ship = cat.SHIPPING_ES if es else cat.SHIPPING_EN
        ship_name, ship_id = r.choice(es_ship)
        ship_cost_choices = ((Decimal(3990), Decimal(4990), Decimal(6990)) if self.currency == "CLP"
                             else (Decimal("5.00"), Decimal("9.90"), Decimal("12.50")))
        ship_cost = r.choice(ship_cost_choices)
        free_ship = r.random() < 0.05
        redeem = r.random() < 0.06 or bool(rec.flags & F_GIFT_REDEEMED)
        card_value = r.choice((Decimal(5000), Decimal(10000)) if self.currency == "CLP"
                              else (Decimal("10.00"), Decimal("25.00")))
        if rec.ship == "delivery":
            shipping = ship_cost
            method_name: str | None = ship_name
            method_id: int | None = ship_id
        else:
            shipping = Decimal(0)
            free_ship = False
            method_name = (cat.PICKUP_ES if es else cat.PICKUP_EN) if rec.ship == "store_pickup" else None
            method_id = 317_100 if rec.ship == "store_pickup" else None
        shipping_discount = shipping if free_ship else Decimal(0)
        before_cards = subtotal + tax + shipping - discount - shipping_discount
        gift_cards = min(card_value, before_cards) if redeem else Decimal(0)
        total = before_cards - gift_cards
        pay_name, pay_type = r.choice(cat.PAYMENT_ES if es else cat.PAYMENT_EN)
        # -- addresses
        places = cat.PLACES_ES if es else cat.PLACES_EN
        city, region, region_code, postal_prefix, country, ccode, muni = places[cust.place]
        postal = (f"{postal_prefix}{stable_seed(cust.id) % 100000:05d}"[:7] if es
                  else f"{postal_prefix}{stable_seed(cust.id) % 100:02d}")
        billing: dict[str, Any] = {
            "name": cust.first, "surname": cust.last,
            "taxid": cust.taxid,
            "address": f"{cust.street} {cust.number}" if cust.number and r.random() < 0.5 else cust.street,
            "street_number": cust.number, "complement": None,
            "city": city, "postal": postal, "region": region, "region_code": region_code,
            "country": country, "country_code": ccode, "municipality": muni,
        }
        if cust.taxid_mode == "missing":
            del billing["taxid"]
        shipping_address = {k: v for k, v in billing.items() if k != "taxid"}
        if r.random() < 0.1:
            other = places[r.randrange(len(places))]
            shipping_address.update(city=other[0], region=other[1], region_code=other[2],
                                    municipality=other[6])
        shipping_address["latitude"] = None
        shipping_address["longitude"] = None
        fullname = (f"{cust.first} {cust.last}" if cust.first else cust.email)
        customer: dict[str, Any] = {
            "id": str(cust.id) if r.random() < 0.3 else cust.id,
            "email": cust.email, "phone": cust.phone, "phone_prefix": "+56" if es else "+1",
            "fullname": fullname,
        }
        carriers = cat.CARRIERS_ES if es else cat.CARRIERS_EN
        carrier, track_base = r.choice(carriers)
        tracking_no = (f"1Z{r.randint(10**13, 10**14 - 1)}" if not es
                       else f"{r.randint(10**9, 10**10 - 1)}")
        extra_field = r.random() < 0.2
        info_nulls = r.random() < 0.1
        # -- status-dependent parts
        st = cat.STATUS_TEXT[lang if lang in cat.STATUS_TEXT else self.language]
        sh = cat.SHIPMENT_TEXT[lang if lang in cat.SHIPMENT_TEXT else self.language]
        ft = cat.FULFILLMENT_TEXT[lang if lang in cat.FULFILLMENT_TEXT else self.language]
        shipped = rec.ship == "delivery" and rec.shipment in ("in_transit", "delivered", "failed")
        if rec.status != "paid":
            fulfillment: str | None = None
        else:
            fulfillment = ft["fulfilled"] if rec.shipment in SHIPPED else ft["unfulfilled"]
        token = f"{rec.seed:08x}"
        order: dict[str, Any] = {
            "id": rec.id,
            "created_at": jumpseller_date(rec.created, rec.iso),
            "completed_at": jumpseller_date(rec.completed, rec.iso) if rec.completed else None,
            "status": st[rec.status], "status_name": st[rec.status], "status_enum": rec.status,
            "currency": self.currency,
            "subtotal": _money(subtotal), "tax": _money(tax), "shipping_tax": 0.0,
            "shipping": _money(shipping), "shipping_required": rec.ship != "no_shipping",
            "total": _money(total), "discount": _money(discount),
            "shipping_discount": _money(shipping_discount),
            "gift_cards_discount": _money(gift_cards),
            "fulfillment_status": fulfillment,
            "shipping_method_id": method_id, "shipping_service_id": None,
            "shipping_method_name": method_name,
            "payment_method_name": pay_name, "payment_method_type": pay_type,
            "payment_information": None, "additional_information": None,
            "duplicate_url": f"https://{self.login}.jumpseller.com/cart/duplicate/{token}",
            "recovery_url": (f"https://{self.login}.jumpseller.com/cart/recover/{token}"
                             if rec.status == "abandoned" else None),
            "checkout_url": f"https://{self.login}.jumpseller.com/checkout?token={token}",
            "coupons": None, "promotions": [],
            "customer": customer,
            "shipping_address": shipping_address,
            "billing_address": billing,
            "products": products,
            "additional_fields": ([{"label": "Mensaje de regalo" if es else "Gift message",
                                    "value": "¡Feliz cumpleaños!" if es else "Happy birthday!",
                                    "id": 28664, "area": "billing"}] if extra_field else []),
            "shipping_taxes": [],
            "tracking_url": f"{track_base}{tracking_no}" if shipped else None,
            "tracking_company": carrier if shipped else None,
            "tracking_number": tracking_no if shipped else None,
            "shipping_option": rec.ship,
            "same_day_delivery": False,
            "shipment_status": sh[rec.shipment],
            "shipment_status_enum": rec.shipment,
            "external_shipping_rate_id": None,
            "external_shipping_rate_description": None,
        }
        if cust.business:
            order["billing_information"] = {"company_name": cust.company,
                                            "business_activity": cust.activity,
                                            "taxpayer_type": cust.taxpayer}
        elif info_nulls:
            order["billing_information"] = {"company_name": None, "business_activity": None,
                                            "taxpayer_type": None}
        return {"order": order}

    # ---- the clock moves --------------------------------------------------------------------------

    def advance(self, r: Random, t0: int, t1: int) -> dict[str, list[int]]:
        """Seeded changes between t0 and t1: payments, cancellations, shipping, new orders."""
        hours = (t1 - t0) / 3600
        out: dict[str, list[int]] = {"paid": [], "canceled": [], "canceled_invoiced": [],
                                     "shipped": [], "new": []}
        if hours <= 0:
            return out

        def when() -> int:
            return r.randint(t0 + 1, t1)

        # 1. pending payments resolve
        p = 1 - math.exp(-hours / 18)
        pending = [o for o in self.orders if o.status == "pending_payment"]
        resolved = [o for o in pending if r.random() < p]
        if not resolved and pending and hours >= 1:
            resolved = [pending[0]]
        for o in resolved:
            if r.random() < 0.8:
                o.status, o.completed = "paid", when()
                out["paid"].append(o.id)
            else:
                o.status = "canceled"
                out["canceled"].append(o.id)
        # 2. some paid orders get canceled (refunds), one already invoiced when there is one
        horizon = t0 - 60 * 86400
        paid = [o for o in self.orders if o.status == "paid" and o.created >= horizon
                and o.id not in out["paid"] and not o.flags]
        if paid and hours >= 1:
            k = max(1, round(len(paid) * hours / 24 * 0.01))
            invoiced = [o for o in paid if self._invoiced_not_credited(o.id)]
            chosen: list[OrderRec] = []
            if invoiced:
                chosen.append(invoiced[r.randrange(len(invoiced))])
            rest = [o for o in paid if o not in chosen]
            chosen += r.sample(rest, min(len(rest), k - len(chosen)))
            for o in chosen:
                o.status = "canceled"
                o.shipment = "unfulfilled" if o.shipment != "delivered" else o.shipment
                out["canceled"].append(o.id)
                if o.id in self.documents:
                    out["canceled_invoiced"].append(o.id)
        # 3. paid deliveries move along
        step = {"unfulfilled": "requested", "requested": "in_transit", "in_transit": "delivered",
                "pickup_available": "delivered"}
        p_ship = 1 - math.exp(-hours / 24)
        recent = t0 - 30 * 86400
        for o in self.orders:
            if o.status == "paid" and o.created >= recent and o.shipment in step and r.random() < p_ship:
                if o.ship == "store_pickup" and o.shipment == "unfulfilled":
                    o.shipment = "pickup_available"
                elif o.ship == "store_pickup" and o.shipment != "pickup_available":
                    continue
                else:
                    o.shipment = step[o.shipment]
                out["shipped"].append(o.id)
        # 4. new orders
        rate = max(0.25, self._initial / (self._span / 3600))
        count = max(1, round(hours * rate * r.uniform(0.7, 1.3))) if hours >= 1 else (
            1 if r.random() < hours * rate else 0)
        times = sorted(when() for _ in range(count))
        oid = self.orders[-1].id if self.orders else 1000
        for t in times:
            oid += 2 if r.random() < 0.04 else 1
            rec = self._new_rec(r, oid, t, t1, fresh=True)
            if rec.status == "paid":
                rec.completed = min(t1, t + r.randint(30, 1800))
                rec.shipment = "unfulfilled" if rec.ship != "no_shipping" else "delivered"
            self.orders.append(rec)
            self.by_id[rec.id] = rec
            out["new"].append(rec.id)
        self.version += 1
        return out

    def _invoiced_not_credited(self, order_id: int) -> bool:
        """Invoiced and not credited: canceling it makes a credit note owed."""
        kinds = [d["document_type"] for d in self.documents.get(order_id, [])]
        return kinds.count(1) > kinds.count(0)

