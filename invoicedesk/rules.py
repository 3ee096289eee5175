"""Invoice rules: how a Jumpseller order becomes invoice lines, VAT and totals.

Pure functions over :class:`~invoicedesk.domain.Order`; the UI shows the result as the
invoice preview and the invoicing client checks an order with it before sending.

Decisions, with the reasons:

- **Tax-exclusive prices by default.** Jumpseller's OpenAPI spec describes ``subtotal`` as
  "excluding taxes, shipping and discounts" and ``total`` as "including taxes, shipping and
  discounts"; a product's ``price`` is the catalogue price and ``tax`` the tax on one unit.
  Each tax carries ``tax_on_product_price`` ("False if tax is not included on product
  price"): when a line says so, that wins. When no line says, and the order's own total only
  adds up with tax-inclusive prices, the preview switches to inclusive and says so in a note.
- **Rounding per item, never on the total** (Jumpseller's invoicing guide: "On an
  item-by-item basis, not on the total"). An item is one unit sold: its VAT is rounded to the
  currency's minor unit (ISO 4217 via Babel: CLP 0, USD 2, BHD 3) with ROUND_HALF_UP (the
  rule shops and tax offices use; Python's default, half-even, would round 0.125 down), then
  multiplied by the quantity. Lines and totals are sums of rounded amounts, so the printed
  lines always add up to the printed total. Jumpseller's own per-unit ``tax`` is rounded the
  same way, which is why the preview reproduces the store's totals.
- **VAT rate per line**: gift cards 0 %; else the line's own rate (``taxes[0].rate``); else
  derived from the line's tax and price (and then the store's own unit tax is used as is);
  else none when the order charged no tax at all; else the rate passed in; else derived from
  the order's tax total (with a note).
- **Gift cards redeemed** are a means of payment, not a discount on the goods: the invoice
  total stays and a note says how much was paid with gift cards. Jumpseller's ``total``
  already has them taken off, so the order is compared with ``total - gift cards``.
- **Disagreements are shown, never hidden**: when the order's own total differs from the
  recomputed one, a note says by how much, and :func:`invoice_blocker` refuses to invoice
  it until staff have fixed the order (an invoice must say what the customer paid).
- **Unusable amounts stop the invoice**: an amount or quantity the parser could not use
  (unreadable, or beyond the bounds in :mod:`invoicedesk.money`) is left out of the preview
  with a note, and :func:`invoice_blocker` names it.
- **Arithmetic in** :data:`~invoicedesk.money.MONEY_CONTEXT`, through its methods, never in
  the calling thread's own decimal context: the same result in the GUI thread, the sync
  thread and a worker, and no ``InvalidOperation`` for any order a parser lets through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from invoicedesk.domain import Order, OrderLine
from invoicedesk.money import (
    MAX_QUANTITY,
    MONEY_CONTEXT,
    add,
    div,
    fits,
    format_money,
    minor_units,
    mul,
    quantum,
    round_money,
    sub,
    total,
)

__all__ = [
    "InvoiceLinePreview",
    "InvoicePreview",
    "format_money",
    "invoice_blocker",
    "invoice_lines",
    "invoice_preview",
    "line_totals",
    "minor_units",
    "round_money",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.0001")  # a derived rate is kept to 0.01 % (19.00 %, 5.50 %)
_ORDER_AMOUNTS = (
    "subtotal", "tax", "shipping", "shipping_tax", "discount", "shipping_discount",
    "gift_cards_amount", "total",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class InvoiceLinePreview:
    """One invoice line. ``vat_rate`` is a fraction (``Decimal("0.19")`` for 19 %)."""

    sku: str
    name: str
    qty: int
    unit_price: Decimal  # as the order sent it
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal
    is_gift_card: bool = False
    discount: Decimal = ZERO  # taken off this line (all units)

    @property
    def vat_percent(self) -> Decimal:
        return mul(self.vat_rate, HUNDRED).normalize(MONEY_CONTEXT)


@dataclass(frozen=True, slots=True)
class InvoicePreview:
    """What the invoice will say. ``total = subtotal + vat_total + shipping - discount``."""

    lines: list[InvoiceLinePreview]
    subtotal: Decimal  # sum of line nets
    vat_total: Decimal  # sum of line VAT (and shipping tax)
    shipping: Decimal  # net of shipping discount and shipping tax
    discount: Decimal  # order-level discount not already taken off the lines
    gift_cards_amount: Decimal  # paid with gift cards (a payment, not a discount)
    total: Decimal  # the invoice total, before gift-card payment
    notes: list[str] = field(default_factory=list)
    currency: str = ""
    prices_include_tax: bool = False

    @property
    def amount_due(self) -> Decimal:
        """What was left to pay after gift cards: Jumpseller's own ``total``."""
        return sub(self.total, self.gift_cards_amount)


def _plain(amount: Decimal, currency: str) -> str:
    """Locale-free money for notes: "USD 25.00", "CLP 10,000" ("$" alone is ambiguous)."""
    rounded = round_money(amount, currency)
    return f"{currency} {rounded:,}".strip()


def _percent(rate: Decimal) -> str:
    percent = mul(rate, HUNDRED).quantize(Decimal("0.01"), context=MONEY_CONTEXT)
    return f"{percent.normalize(MONEY_CONTEXT):f}%"


class _Context:
    """Order-wide facts the per-line rules need, worked out once."""

    def __init__(self, order: Order, vat_rate: Decimal | None) -> None:
        self.order = order
        self.currency = order.currency
        self.q = quantum(order.currency)
        self.vat_rate = vat_rate
        self.notes: list[str] = []
        self.lines = lines = [line for line in order.lines if not line.unusable]
        per_unit = total(mul(line.discount, line.qty) for line in lines)
        per_line = total(line.discount for line in lines)
        # Jumpseller's product discount is per unit; a payload whose order discount only
        # matches the plain sum of line discounts is read per line instead.
        self.discount_per_unit = not (order.discount == per_line and per_line != per_unit)
        self.allocated = per_unit if self.discount_per_unit else per_line
        self.order_rate: Decimal | None = None

    def round(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.q, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)

    def order_level_rate(self, inclusive: bool) -> Decimal:
        """The order's tax over its taxable (non gift card) base, used when lines say nothing."""
        if self.order_rate is None:
            base = total(
                mul(sub(line.price, self._unit_discount(line)), line.qty)
                for line in self.lines
                if not line.is_gift_card
            )
            tax = self.order.tax
            if inclusive:
                base = sub(base, tax)
            if base > 0 and tax > 0:
                self.order_rate = _rate(div(tax, base))
                self.notes.append(
                    f"VAT rate {_percent(self.order_rate)} worked out from the order's tax total; "
                    "the products carry no rate of their own."
                )
            else:
                self.order_rate = ZERO
                self.notes.append("No VAT rate is known for this order's products; shown at 0%.")
        return self.order_rate

    def _unit_discount(self, line: OrderLine) -> Decimal:
        if self.discount_per_unit or not line.qty:
            return line.discount
        return div(line.discount, line.qty)


def _rate_for(ctx: _Context, line: OrderLine, inclusive: bool) -> tuple[Decimal, Decimal | None]:
    """(VAT rate as a fraction, the store's own unit tax to use as is, if any)."""
    rate, store_tax = _raw_rate(ctx, line, inclusive)
    if ZERO <= rate < 1:
        return rate, store_tax
    ctx.notes.append(
        f"VAT rate {_percent(rate)} for {line.name or line.sku or 'a product'} is not plausible; shown at 0%."
    )
    return ZERO, None


def _raw_rate(ctx: _Context, line: OrderLine, inclusive: bool) -> tuple[Decimal, Decimal | None]:
    if line.is_gift_card:
        return ZERO, None
    if line.tax_rate is not None:
        return div(line.tax_rate, HUNDRED), None
    unit_base = sub(line.price, line.discount if ctx.discount_per_unit else ZERO)
    if line.tax > 0:
        base = sub(unit_base, line.tax) if inclusive else unit_base
        if base > 0:
            return _rate(div(line.tax, base)), line.tax
    if ctx.order.tax == 0:
        return ZERO, None  # the order charged no tax at all
    if ctx.vat_rate is not None:
        return ctx.vat_rate, None
    return ctx.order_level_rate(inclusive), None


def _rate(fraction: Decimal) -> Decimal:
    return fraction.quantize(RATE_PLACES, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)


def _line_amount(ctx: _Context, line: OrderLine) -> Decimal:
    """Price times quantity less the line's discount, rounded as the invoice rounds: per unit
    when discounts are per unit, else on the line."""
    if ctx.discount_per_unit:
        return mul(ctx.round(sub(line.price, line.discount)), line.qty)
    return ctx.round(sub(mul(line.price, line.qty), line.discount))


def line_totals(order: Order) -> list[Decimal | None]:
    """What each product line of ``order`` comes to, one per ``order.lines``, in order.

    Price times quantity less the line's discount, before VAT is worked out, rounded the way
    the invoice rounds. ``None`` for a line with an unusable amount or quantity. This is
    the one place a line total is computed: the detail pane shows these, never its own sum.
    """
    ctx = _Context(order, None)
    return [None if line.unusable else _line_amount(ctx, line) for line in order.lines]


def _vat_in(ctx: _Context, amount: Decimal, rate: Decimal, inclusive: bool) -> Decimal:
    """The VAT on ``amount`` (inside it when ``inclusive``), rounded to the minor unit."""
    if inclusive:
        return ctx.round(div(mul(amount, rate), add(1, rate)))
    return ctx.round(mul(amount, rate))


def _line(ctx: _Context, line: OrderLine, inclusive: bool) -> InvoiceLinePreview:
    inclusive = line.tax_included if line.tax_included is not None else inclusive
    rate, store_unit_tax = _rate_for(ctx, line, inclusive)
    qty = line.qty
    if ctx.discount_per_unit:
        # Item by item: one unit's VAT is rounded, then multiplied by the quantity.
        unit_amount = ctx.round(sub(line.price, line.discount))
        if store_unit_tax is not None:
            unit_vat = ctx.round(store_unit_tax)
        else:
            unit_vat = _vat_in(ctx, unit_amount, rate, inclusive)
        unit_net = sub(unit_amount, unit_vat) if inclusive else unit_amount
        net, vat = mul(unit_net, qty), mul(unit_vat, qty)
        discount = mul(line.discount, qty)
    else:
        amount = _line_amount(ctx, line)
        if store_unit_tax is not None:
            vat = ctx.round(mul(store_unit_tax, qty))
        else:
            vat = _vat_in(ctx, amount, rate, inclusive)
        net = sub(amount, vat) if inclusive else amount
        discount = line.discount
    return InvoiceLinePreview(
        sku=line.sku,
        name=line.name,
        qty=qty,
        unit_price=line.price,
        net=net,
        vat_rate=rate,
        vat=vat,
        gross=add(net, vat),
        is_gift_card=line.is_gift_card,
        discount=discount,
    )


def invoice_lines(order: Order, vat_rate: Decimal | None = None) -> list[InvoiceLinePreview]:
    """The invoice lines of ``order`` (see the module notes for the rules).

    ``vat_rate`` (a fraction, e.g. ``Decimal("0.19")``) is used only for products that give
    neither a rate nor a tax amount, on an order that did charge tax.
    """
    return invoice_preview(order, vat_rate).lines


def _build(ctx: _Context, inclusive: bool) -> InvoicePreview:
    order = ctx.order
    lines = [_line(ctx, line, inclusive) for line in ctx.lines]
    shipping_tax = ctx.round(order.shipping_tax)
    shipping = sub(
        ctx.round(sub(order.shipping, order.shipping_discount)), shipping_tax if inclusive else ZERO
    )
    subtotal = total(line.net for line in lines)
    vat_total = add(total(line.vat for line in lines), shipping_tax)
    discount = ctx.round(max(sub(order.discount, ctx.allocated), ZERO))
    gift = ctx.round(order.gift_cards_amount)
    return InvoicePreview(
        lines=lines,
        subtotal=subtotal,
        vat_total=vat_total,
        shipping=shipping,
        discount=discount,
        gift_cards_amount=gift,
        total=sub(add(add(subtotal, vat_total), shipping), discount),
        currency=order.currency,
        prices_include_tax=inclusive,
    )


def _matches(preview: InvoicePreview, order: Order) -> bool:
    """The order's total is the preview's, with gift cards taken off (or, leniently, not).

    Within rounding: the order's total is rounded to the currency's minor unit first (the
    preview's amounts already are), so a total sent as ``306.625`` matches ``306.63``.
    """
    if not order.total_known:
        return False
    stated = round_money(order.total, order.currency)
    return stated in (preview.amount_due, preview.total)


def invoice_preview(order: Order, vat_rate: Decimal | None = None) -> InvoicePreview:
    """Lines, totals and notes of the invoice ``order`` would get.

    Lines with an unusable amount or quantity (``OrderLine.unusable``) are left out, with a
    note; such an order cannot be invoiced (:func:`invoice_blocker`).
    """
    ctx = _Context(order, vat_rate)
    stated = {line.tax_included for line in order.lines if not line.is_gift_card} - {None}
    inclusive = stated == {True}
    preview = _build(ctx, inclusive)
    if not stated and order.tax > 0 and not _matches(preview, order):
        other_ctx = _Context(order, vat_rate)
        other = _build(other_ctx, not inclusive)
        if _matches(other, order):
            ctx, preview = other_ctx, other
            ctx.notes.append(
                "Prices include tax: only that reading adds up to the order's total."
                if other.prices_include_tax
                else "Prices exclude tax: only that reading adds up to the order's total."
            )
    notes = _notes(ctx, order, preview)
    return InvoicePreview(
        lines=preview.lines,
        subtotal=preview.subtotal,
        vat_total=preview.vat_total,
        shipping=preview.shipping,
        discount=preview.discount,
        gift_cards_amount=preview.gift_cards_amount,
        total=preview.total,
        notes=notes,
        currency=preview.currency,
        prices_include_tax=preview.prices_include_tax,
    )


def invoice_blocker(order: Order, vat_rate: Decimal | None = None) -> str | None:
    """Why ``order`` must not be invoiced as it is, as a sentence for staff; ``None`` if it may.

    Call it right before sending an order to the invoicing service. Money only (status, tax
    id and existing documents are the caller's rules); refused are:

    - an amount or quantity that cannot be used: unreadable, or beyond the bounds of
      :mod:`invoicedesk.money` (also checked on the record itself, for orders not built by
      the parser), since an invoice cannot be worked out from an unknown value;
    - an order without a readable total: nothing to check the invoice against;
    - lines (with VAT, shipping, discounts and gift cards) that do not add up to the
      order's own total within rounding: the invoice would not say what the customer paid.
    """
    unusable = list(order.unusable) or _beyond_bounds(order)
    if unusable:
        verb = "is" if len(unusable) == 1 else "are"
        return (
            f"Order {order.id} cannot be invoiced: {_names(unusable)} {verb} not usable as sent "
            "(see the order's problems). Fix the order in Jumpseller and sync again."
        )
    if not order.total_known:
        return f"Order {order.id} cannot be invoiced: it has no readable total to check the invoice against."
    preview = invoice_preview(order, vat_rate)
    if _matches(preview, order):
        return None
    cur = order.currency
    after = " after gift cards" if preview.gift_cards_amount > 0 else ""
    apart = sub(order.total, preview.amount_due).copy_abs()
    return (
        f"Lines add up to {_plain(preview.amount_due, cur)}{after} but the order total is "
        f"{_plain(order.total, cur)} ({_plain(apart, cur)} apart): check the order in Jumpseller "
        "before invoicing."
    )


def _beyond_bounds(order: Order) -> list[str]:
    """Paths of amounts and quantities of ``order`` outside the money bounds (a record the
    parser made never has any: it lists them in ``order.unusable`` instead)."""
    found = [name for name in _ORDER_AMOUNTS if not fits(getattr(order, name))]
    for i, line in enumerate(order.lines):
        amounts = {"price": line.price, "tax": line.tax, "discount": line.discount, "rate": line.tax_rate}
        found.extend(f"products[{i}].{k}" for k, v in amounts.items() if v is not None and not fits(v))
        if not 0 <= line.qty <= MAX_QUANTITY:
            found.append(f"products[{i}].qty")
    return found


def _notes(ctx: _Context, order: Order, preview: InvoicePreview) -> list[str]:
    cur = order.currency
    notes: list[str] = []
    if preview.gift_cards_amount > 0:
        notes.append(
            f"Gift card redeemed: {_plain(preview.gift_cards_amount, cur)} paid with gift cards; "
            f"{_plain(preview.amount_due, cur)} paid otherwise."
        )
    gift_products = [line.name or line.sku or "gift card" for line in preview.lines if line.is_gift_card]
    if gift_products:
        notes.append(f"Gift card products carry 0% VAT: {_names(gift_products)}.")
    if preview.discount > 0:
        notes.append(
            f"Order discount of {_plain(preview.discount, cur)} is taken off the total; "
            "the product lines do not show it."
        )
    notes.extend(dict.fromkeys(ctx.notes))
    if order.unusable:
        notes.append(
            f"Not usable as sent: {_names(order.unusable)}. The preview leaves those out and the "
            "order cannot be invoiced until it is fixed in Jumpseller and synced again."
        )
    if not order.total_known:
        notes.append("The order has no readable total to check the invoice against.")
    elif not _matches(preview, order):
        expected = preview.amount_due
        diff = sub(order.total, expected)
        notes.append(
            f"The order's own total is {_plain(order.total, cur)}, but its lines add up to "
            f"{_plain(expected, cur)} after gift cards ({_plain(diff, cur)} apart): check the order "
            "before invoicing."
        )
    return notes


def _names(names: Sequence[str]) -> str:
    unique = list(dict.fromkeys(names))
    return ", ".join(unique[:5]) + (f" and {len(unique) - 5} more" if len(unique) > 5 else "")
