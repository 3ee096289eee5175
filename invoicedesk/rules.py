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
  recomputed one, a note says by how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

from invoicedesk.domain import Order, OrderLine
from invoicedesk.money import format_money, minor_units, quantum, round_money

__all__ = [
    "InvoiceLinePreview",
    "InvoicePreview",
    "format_money",
    "invoice_lines",
    "invoice_preview",
    "minor_units",
    "round_money",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.0001")  # a derived rate is kept to 0.01 % (19.00 %, 5.50 %)


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
        return (self.vat_rate * HUNDRED).normalize()


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
        return self.total - self.gift_cards_amount


def _plain(amount: Decimal, currency: str) -> str:
    """Locale-free money for notes: "USD 25.00", "CLP 10,000" ("$" alone is ambiguous)."""
    rounded = round_money(amount, currency)
    return f"{currency} {rounded:,}".strip()


def _percent(rate: Decimal) -> str:
    text = f"{(rate * HUNDRED).quantize(Decimal('0.01')).normalize():f}"
    return f"{text}%"


class _Context:
    """Order-wide facts the per-line rules need, worked out once."""

    def __init__(self, order: Order, vat_rate: Decimal | None) -> None:
        self.order = order
        self.currency = order.currency
        self.q = quantum(order.currency)
        self.vat_rate = vat_rate
        self.notes: list[str] = []
        lines = order.lines
        per_unit = sum((line.discount * line.qty for line in lines), ZERO)
        per_line = sum((line.discount for line in lines), ZERO)
        # Jumpseller's product discount is per unit; a payload whose order discount only
        # matches the plain sum of line discounts is read per line instead.
        self.discount_per_unit = not (order.discount == per_line and per_line != per_unit)
        self.allocated = per_unit if self.discount_per_unit else per_line
        self.order_rate: Decimal | None = None

    def round(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.q, rounding=ROUND_HALF_UP)

    def order_level_rate(self, inclusive: bool) -> Decimal:
        """The order's tax over its taxable (non gift card) base, used when lines say nothing."""
        if self.order_rate is None:
            base = sum(
                (
                    (line.price - self._unit_discount(line)) * line.qty
                    for line in self.order.lines
                    if not line.is_gift_card
                ),
                ZERO,
            )
            tax = self.order.tax
            if inclusive:
                base -= tax
            if base > 0 and tax > 0:
                self.order_rate = (tax / base).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
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
        return line.discount / line.qty


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
        return line.tax_rate / HUNDRED, None
    unit_base = line.price - (line.discount if ctx.discount_per_unit else ZERO)
    if line.tax > 0:
        base = unit_base - line.tax if inclusive else unit_base
        if base > 0:
            return (line.tax / base).quantize(RATE_PLACES, rounding=ROUND_HALF_UP), line.tax
    if ctx.order.tax == 0:
        return ZERO, None  # the order charged no tax at all
    if ctx.vat_rate is not None:
        return ctx.vat_rate, None
    return ctx.order_level_rate(inclusive), None


def _line(ctx: _Context, line: OrderLine, inclusive: bool) -> InvoiceLinePreview:
    inclusive = line.tax_included if line.tax_included is not None else inclusive
    rate, store_unit_tax = _rate_for(ctx, line, inclusive)
    qty = line.qty
    if ctx.discount_per_unit:
        # Item by item: one unit's VAT is rounded, then multiplied by the quantity.
        unit_amount = ctx.round(line.price - line.discount)
        if store_unit_tax is not None:
            unit_vat = ctx.round(store_unit_tax)
        elif inclusive:
            unit_vat = ctx.round(unit_amount * rate / (1 + rate))
        else:
            unit_vat = ctx.round(unit_amount * rate)
        unit_net = unit_amount - unit_vat if inclusive else unit_amount
        net, vat = unit_net * qty, unit_vat * qty
        discount = line.discount * qty
    else:
        amount = ctx.round(line.price * qty - line.discount)
        if store_unit_tax is not None:
            vat = ctx.round(store_unit_tax * qty)
        elif inclusive:
            vat = ctx.round(amount * rate / (1 + rate))
        else:
            vat = ctx.round(amount * rate)
        net = amount - vat if inclusive else amount
        discount = line.discount
    return InvoiceLinePreview(
        sku=line.sku,
        name=line.name,
        qty=qty,
        unit_price=line.price,
        net=net,
        vat_rate=rate,
        vat=vat,
        gross=net + vat,
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
    lines = [_line(ctx, line, inclusive) for line in order.lines]
    shipping_tax = ctx.round(order.shipping_tax)
    shipping = ctx.round(order.shipping - order.shipping_discount) - (shipping_tax if inclusive else ZERO)
    subtotal = sum((line.net for line in lines), ZERO)
    vat_total = sum((line.vat for line in lines), ZERO) + shipping_tax
    discount = ctx.round(max(order.discount - ctx.allocated, ZERO))
    gift = ctx.round(order.gift_cards_amount)
    total = subtotal + vat_total + shipping - discount
    return InvoicePreview(
        lines=lines,
        subtotal=subtotal,
        vat_total=vat_total,
        shipping=shipping,
        discount=discount,
        gift_cards_amount=gift,
        total=total,
        currency=order.currency,
        prices_include_tax=inclusive,
    )


def _matches(preview: InvoicePreview, order: Order) -> bool:
    """The order's total is the preview's, with gift cards taken off (or, leniently, not)."""
    return order.total_known and order.total in (preview.amount_due, preview.total)


def invoice_preview(order: Order, vat_rate: Decimal | None = None) -> InvoicePreview:
    """Lines, totals and notes of the invoice ``order`` would get."""
    with localcontext() as decimal_context:
        # Wide enough that no amount a parser lets through (18 integer and 18 fractional
        # digits, quantities up to 2**63) loses digits or fails to quantize.
        decimal_context.prec = 120
        return _preview(order, vat_rate)


def _preview(order: Order, vat_rate: Decimal | None) -> InvoicePreview:
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
    if not order.total_known:
        notes.append("The order has no readable total to check the invoice against.")
    elif not _matches(preview, order):
        expected = preview.amount_due
        diff = order.total - expected
        notes.append(
            f"The order's own total is {_plain(order.total, cur)}, but its lines add up to "
            f"{_plain(expected, cur)} after gift cards ({_plain(diff, cur)} apart): check the order "
            "before invoicing."
        )
    return notes


def _names(names: Sequence[str]) -> str:
    unique = list(dict.fromkeys(names))
    return ", ".join(unique[:5]) + (f" and {len(unique) - 5} more" if len(unique) > 5 else "")
