"""Invoice rules: VAT per item, currency minor units, gift cards, totals that add up."""

from __future__ import annotations

import decimal
import json
import threading
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from invoicedesk.domain import Order, OrderLine, parse_order
from invoicedesk.rules import (
    format_money,
    invoice_blocker,
    invoice_lines,
    invoice_preview,
    line_totals,
    minor_units,
)
from tests.fixtures import FIXTURES

D = Decimal


def order(*lines: OrderLine, currency: str = "USD", **fields: object) -> Order:
    return Order(id=1, account="demo-store", currency=currency, lines=lines, **fields)  # type: ignore[arg-type]


def exponent(amount: Decimal) -> int:
    exp = amount.as_tuple().exponent
    assert isinstance(exp, int)
    return exp


# --------------------------------------------------------------------------- currency


@pytest.mark.parametrize(
    ("currency", "places"),
    [("CLP", 0), ("USD", 2), ("usd", 2), ("JPY", 0), ("BHD", 3), ("AUD", 2), ("XYZ", 2), ("", 2)],
)
def test_minor_units_follow_iso_4217(currency: str, places: int) -> None:
    assert minor_units(currency) == places


def test_format_money_uses_the_currency_minor_unit_and_locale() -> None:
    assert format_money(D("12990.4"), "CLP") == "CLP12,990"
    assert format_money(D("12990.5"), "CLP", locale="es_CL") == "$12.991"
    assert format_money(D("1234.5"), "USD") == "$1,234.50"
    assert format_money(D("1.2345"), "BHD").endswith("1.235")
    assert format_money(None, "USD") == ""


# --------------------------------------------------------------------------- rounding


def test_vat_is_rounded_per_item_not_on_the_total() -> None:
    """Three items of 0.05 at 10 %: 0.005 each rounds up to 0.01, so 0.03 in all; rounding
    the total instead (0.015 → 0.02) would differ by a cent."""
    line = OrderLine(sku="PIN", name="Pin", qty=3, price=D("0.05"), tax_rate=D(10))
    preview = invoice_preview(order(line, tax=D("0.03"), subtotal=D("0.15"), total=D("0.18")))
    (pin,) = preview.lines
    assert pin.vat == D("0.03")
    on_the_total = (D("0.15") * D("0.10")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert on_the_total == D("0.02") != preview.vat_total
    assert preview.total == D("0.18") and preview.notes == []


def test_rounding_is_half_up() -> None:
    (line,) = invoice_lines(order(OrderLine(qty=1, price=D("1.25"), tax_rate=D(10)), tax=D("0.13")))
    assert line.vat == D("0.13")  # 0.125: half-even would give 0.12


def test_clp_amounts_have_no_decimals() -> None:
    lines = (
        OrderLine(sku="TAZA", name="Taza", qty=3, price=D("9990"), tax_rate=D(19)),
        OrderLine(sku="POLERA", name="Polera", qty=1, price=D("12990.0"), tax_rate=D(19)),
    )
    preview = invoice_preview(order(*lines, currency="CLP", tax=D(8162), shipping=D(3990), total=D(55112)))
    taza, polera = preview.lines
    assert taza.vat == D(1898 * 3)  # 9990 × 19 % = 1898.1 → 1898 per item
    assert polera.vat == D(2468)  # 2468.1 → 2468
    amounts = [preview.subtotal, preview.vat_total, preview.shipping, preview.total]
    amounts += [x for line in preview.lines for x in (line.net, line.vat, line.gross)]
    assert all(exponent(a) == 0 for a in amounts)
    assert preview.total == D(55112) and preview.notes == []
    assert format_money(preview.total, "CLP", locale="es_CL") == "$55.112"


def test_totals_are_sums_of_the_rounded_lines() -> None:
    lines = tuple(OrderLine(sku=f"S{i}", qty=i, price=D("3.33") * i, tax_rate=D("7.5")) for i in range(1, 6))
    preview = invoice_preview(order(*lines, tax=D(1), shipping=D("4.99"), shipping_tax=D("0.37")))
    assert preview.subtotal == sum(line.net for line in preview.lines)
    assert preview.vat_total == sum(line.vat for line in preview.lines) + D("0.37")
    assert all(line.gross == line.net + line.vat for line in preview.lines)
    assert preview.total == preview.subtotal + preview.vat_total + preview.shipping - preview.discount


# --------------------------------------------------------------------------- gift cards


def test_gift_card_products_carry_zero_vat_and_a_note() -> None:
    tee = OrderLine(sku="TEE", name="Tee", qty=1, price=D("20.00"), tax_rate=D(19))
    card = OrderLine(
        sku="GIFT-25", name="Gift Card $25", qty=1, price=D("25.00"), type="gift_card", tax_rate=D(19)
    )
    preview = invoice_preview(order(tee, card, tax=D("3.80"), total=D("48.80")))
    tee_line, card_line = preview.lines
    assert card_line.is_gift_card and card_line.vat_rate == 0 and card_line.vat == 0
    assert card_line.gross == D("25.00")
    assert tee_line.vat == D("3.80") and tee_line.vat_percent == D(19)
    assert "Gift card products carry 0% VAT: Gift Card $25." in preview.notes
    assert preview.total == D("48.80")


def test_redeemed_gift_cards_are_noted_and_the_invoice_total_stays() -> None:
    tee = OrderLine(sku="TEE", name="Tee", qty=2, price=D("20.00"), tax_rate=D(19))
    redeemed = order(tee, tax=D("7.60"), shipping=D("5.00"), gift_cards_amount=D(25), total=D("27.60"))
    preview = invoice_preview(redeemed)
    assert preview.total == D("52.60") and preview.amount_due == D("27.60")
    assert preview.gift_cards_amount == D("25.00")
    assert preview.notes == ["Gift card redeemed: USD 25.00 paid with gift cards; USD 27.60 paid otherwise."]
    assert invoice_preview(order(tee, tax=D("7.60"), total=D("47.60"))).notes == []


# --------------------------------------------------------------------------- rates and prices


def test_rate_comes_from_the_line_then_the_line_tax_then_the_order() -> None:
    own = OrderLine(qty=1, price=D("100"), tax_rate=D(19))
    derived = OrderLine(qty=1, price=D("100"), tax=D("10.5"))
    bare = OrderLine(qty=1, price=D("100"))
    assert invoice_lines(order(own, tax=D(19)))[0].vat_rate == D("0.19")
    assert invoice_lines(order(derived, tax=D("10.5")))[0].vat_rate == D("0.105")
    assert invoice_lines(order(derived, tax=D("10.5")))[0].vat == D("10.50")  # the store's own tax
    assert invoice_lines(order(bare, tax=D(0)), vat_rate=D("0.19"))[0].vat == 0  # the order charged none
    assert invoice_lines(order(bare, tax=D(8)), vat_rate=D("0.19"))[0].vat == D("19.00")  # rate passed in
    preview = invoice_preview(order(bare, tax=D(8), total=D(108)))
    assert preview.lines[0].vat_rate == D("0.08")
    assert any("worked out from the order's tax total" in n for n in preview.notes)


def test_a_line_that_says_its_price_includes_tax() -> None:
    line = OrderLine(qty=2, price=D("119.00"), tax_rate=D(19), tax_included=True)
    preview = invoice_preview(order(line, tax=D(38), subtotal=D(238), total=D(238)))
    (only,) = preview.lines
    assert (only.net, only.vat, only.gross) == (D("200.00"), D("38.00"), D("238.00"))
    assert preview.prices_include_tax and preview.total == D(238) and preview.notes == []


def test_tax_inclusive_prices_are_deduced_when_only_that_adds_up() -> None:
    line = OrderLine(qty=1, price=D("11990"), tax=D(1914))  # CLP, IVA included in the price
    preview = invoice_preview(order(line, currency="CLP", tax=D(1914), subtotal=D(11990), total=D(11990)))
    (only,) = preview.lines
    assert (only.net, only.vat, only.gross) == (D(10076), D(1914), D(11990))
    assert only.vat_rate == D("0.19")
    assert preview.prices_include_tax
    assert "Prices include tax: only that reading adds up to the order's total." in preview.notes


def test_discounts_per_unit_per_line_and_on_the_order() -> None:
    per_unit = OrderLine(qty=2, price=D("10.00"), discount=D("1.00"), tax_rate=D(10))
    preview = invoice_preview(order(per_unit, discount=D("2.00"), tax=D("1.80"), total=D("19.80")))
    assert preview.lines[0].net == D("18.00") and preview.lines[0].discount == D("2.00")
    assert preview.discount == 0 and preview.notes == []

    per_line = OrderLine(qty=2, price=D("10.00"), discount=D("3.00"), tax_rate=D(10))
    preview = invoice_preview(order(per_line, discount=D("3.00"), tax=D("1.70"), total=D("18.70")))
    assert preview.lines[0].net == D("17.00") and preview.lines[0].vat == D("1.70")
    assert preview.total == D("18.70") and preview.notes == []

    coupon = OrderLine(qty=1, price=D("50.00"), tax_rate=D(10))
    preview = invoice_preview(order(coupon, discount=D("5.00"), tax=D("5.00"), total=D("50.00")))
    assert preview.discount == D("5.00") and preview.total == D("50.00")
    assert any(n.startswith("Order discount of USD 5.00") for n in preview.notes)


def test_an_order_whose_own_total_disagrees_gets_a_note() -> None:
    line = OrderLine(qty=1, price=D("10.00"), tax_rate=D(19))
    preview = invoice_preview(order(line, tax=D("1.90"), total=D("11.95")))
    assert preview.total == D("11.90")
    (note,) = preview.notes
    assert "USD 11.95" in note and "USD 11.90" in note and "USD 0.05 apart" in note


def test_an_order_without_a_total_says_so() -> None:
    line = OrderLine(qty=1, price=D("10.00"))
    preview = invoice_preview(order(line, total_known=False))
    assert preview.notes == ["The order has no readable total to check the invoice against."]


# --------------------------------------------------------------------------- real shapes


def test_the_docs_example_order_previews_to_its_own_total() -> None:
    path = FIXTURES / "jumpseller" / "order-1026-docs-example.json"
    preview = invoice_preview(parse_order(json.loads(path.read_text()), account="demo-store"))
    (line,) = preview.lines
    assert (line.net, line.vat, line.gross) == (D("319.20"), 0, D("319.20"))  # 399.0 less 79.8
    assert (preview.shipping, preview.total, preview.discount) == (D("50.00"), D("369.20"), 0)
    assert preview.notes == []


def test_every_sandbox_order_previews_to_the_total_the_store_charged() -> None:
    """The sandbox builds orders the way Jumpseller does (per-unit tax, gift cards off the
    total); the preview must land on each order's own total, in USD and in CLP."""
    from invoicedesk.sandbox import Sandbox

    sb = Sandbox(seed=11, orders=150, invoices=1, stores=2, sellers=1, rate_limits=False)
    seen_currencies: set[str] = set()
    checked = gift = 0
    for store in sb.stores:
        for body in sb.truth_orders(store.login):
            parsed = parse_order(body, account=store.login)
            if parsed.problems or not parsed.lines:
                continue  # deliberately odd payloads are the parsers' business
            preview = invoice_preview(parsed)
            assert not any("apart" in n for n in preview.notes), (parsed.id, preview.notes)
            assert preview.amount_due == parsed.total
            assert preview.total == preview.subtotal + preview.vat_total + preview.shipping - preview.discount
            seen_currencies.add(parsed.currency)
            checked += 1
            gift += parsed.has_gift_cards
    assert seen_currencies == {"USD", "CLP"}
    assert checked > 200 and gift > 0


def test_an_implausible_rate_is_shown_at_zero_with_a_note() -> None:
    line = OrderLine(name="Odd", qty=1, price=D("10.00"), tax_rate=D(150))
    preview = invoice_preview(order(line, tax=D(15), total=D(25)))
    assert preview.lines[0].vat == 0
    assert "VAT rate 150% for Odd is not plausible; shown at 0%." in preview.notes


def test_huge_amounts_do_not_overflow_the_decimal_context() -> None:
    line = OrderLine(qty=2**62, price=D("99999999999999999.99"), tax_rate=D(19))
    preview = invoice_preview(order(line, tax=D(1), total=D(1)))
    exact = D("461168601842738790353883139815726120.96")  # 99999999999999999.99 × 2**62, every digit
    assert preview.lines[0].net == exact
    # Built by hand past the parsers' bounds: previewed, but never invoiced.
    blocker = invoice_blocker(order(line, tax=D(1), total=D(1)))
    assert blocker is not None and "products[0].price, products[0].qty are not usable" in blocker


# --------------------------------------------------------------------------- what blocks an invoice


def jumpseller(*products: dict[str, Any], **fields: Any) -> Order:
    """An order read from a Jumpseller payload, the way the sync reads one."""
    body = {"id": 4242, "status_enum": "paid", "currency": "USD", "tax": 0, **fields, "products": list(products)}
    return parse_order(json.loads(json.dumps({"order": body})), account="demo-store")


def test_the_ci_counterexample_cannot_be_invoiced_and_says_why() -> None:
    """9988985783758721 units at 11005116296860 each against a total of 306.63: once an
    invoice of about 1.1e29 went out. Now the quantity is unknown and the order is refused."""
    o = jumpseller({"sku": "X", "qty": 9988985783758721, "price": 11005116296860}, total=306.63)
    assert o.unusable == ("products[0].qty",) and o.lines[0].unusable == ("qty",)
    assert any(p.startswith("products[0].qty: 9988985783758721 is not a plausible quantity") for p in o.problems)
    assert invoice_blocker(o) == (
        "Order 4242 cannot be invoiced: products[0].qty is not usable as sent (see the order's problems). "
        "Fix the order in Jumpseller and sync again."
    )
    preview = invoice_preview(o)
    assert preview.lines == [] and preview.total == 0
    assert any(n.startswith("Not usable as sent: products[0].qty.") for n in preview.notes)
    assert line_totals(o) == [None]


def test_lines_that_do_not_add_up_to_the_order_total_block_the_invoice() -> None:
    o = jumpseller({"sku": "MUG", "qty": 2, "price": 5.0}, total=306.63)
    assert invoice_blocker(o) == (
        "Lines add up to USD 10.00 but the order total is USD 306.63 (USD 296.63 apart): "
        "check the order in Jumpseller before invoicing."
    )


def test_an_order_whose_lines_add_up_has_no_blocker() -> None:
    o = jumpseller(
        {"sku": "TEE", "qty": 2, "price": 50.0, "tax": 9.5, "taxes": [{"rate": 19.0}]},
        tax=19.0,
        shipping=10.0,
        total=129.0,
    )
    assert o.problems == () and invoice_blocker(o) is None


def test_a_total_within_rounding_of_the_lines_is_not_a_blocker() -> None:
    line = {"sku": "PIN", "qty": 3, "price": 0.05}
    assert invoice_blocker(jumpseller(line, total=0.154)) is None  # 0.15 once rounded to cents
    assert invoice_blocker(jumpseller(line, total=0.155)) is not None  # 0.16: a cent apart


def test_gift_cards_are_named_when_the_lines_do_not_add_up() -> None:
    o = jumpseller({"sku": "TEE", "qty": 1, "price": 30.0}, gift_cards_discount=10.0, total=25.0)
    blocker = invoice_blocker(o)
    assert blocker is not None
    assert blocker.startswith("Lines add up to USD 20.00 after gift cards but the order total is USD 25.00")


def test_an_order_without_a_readable_total_is_blocked() -> None:
    o = jumpseller({"sku": "TEE", "qty": 1, "price": 30.0})
    assert invoice_blocker(o) == (
        "Order 4242 cannot be invoiced: it has no readable total to check the invoice against."
    )


@pytest.mark.parametrize(
    ("product", "field"),
    [
        ({"qty": 1, "price": "1234567890123456"}, "products[0].price"),  # 16 digits
        ({"qty": 1, "price": 10.0, "discount": 0.30000000000000004}, "products[0].discount"),
        ({"qty": 1_000_001, "price": 10.0}, "products[0].qty"),
        ({"qty": -1, "price": 10.0}, "products[0].qty"),
        ({"qty": "two", "price": 10.0}, "products[0].qty"),
        ({"qty": 1, "price": 10.0, "taxes": [{"rate": "IVA"}]}, "products[0].taxes[0].rate"),
    ],
)
def test_an_unusable_amount_or_quantity_blocks_the_invoice(product: dict[str, Any], field: str) -> None:
    """Even when what is left happens to add up to the total."""
    o = jumpseller({"sku": "TEE", **product}, total=10.0)
    blocker = invoice_blocker(o)
    assert blocker is not None and f": {field} is not usable as sent" in blocker


def test_an_order_level_amount_beyond_15_digits_blocks_the_invoice() -> None:
    o = jumpseller({"sku": "TEE", "qty": 1, "price": 10.0}, shipping=1234567890123456, total=10.0)
    assert o.unusable == ("shipping",)
    blocker = invoice_blocker(o)
    assert blocker is not None and "shipping is not usable" in blocker


def test_a_product_entry_that_is_not_an_object_blocks_the_invoice() -> None:
    """A line that could not be read at all is a line missing from the invoice."""
    o = jumpseller({"sku": "TEE", "qty": 1, "price": 10.0}, total=10.0)
    body = dict(o.raw)
    body["order"] = {**body["order"], "products": [*body["order"]["products"], "GIFT-WRAP"]}
    o = parse_order(body, account="demo-store")
    assert "products[1] is not usable" in (invoice_blocker(o) or "")


def test_a_quantity_of_a_million_is_still_a_quantity() -> None:
    o = jumpseller({"sku": "BOLT", "qty": 1_000_000, "price": 0.01}, total=10000.0)
    assert o.lines[0].qty == 1_000_000 and o.unusable == ()
    assert invoice_blocker(o) is None


def test_every_sandbox_order_without_problems_can_be_invoiced() -> None:
    from invoicedesk.sandbox import Sandbox

    sb = Sandbox(seed=11, orders=150, invoices=1, stores=2, sellers=1, rate_limits=False)
    checked = 0
    for store in sb.stores:
        for body in sb.truth_orders(store.login):
            parsed = parse_order(body, account=store.login)
            if parsed.problems:
                continue
            assert invoice_blocker(parsed) is None, (parsed.id, invoice_blocker(parsed))
            checked += 1
    assert checked > 200


# --------------------------------------------------------------------------- line totals


def test_line_totals_round_the_way_the_invoice_rounds() -> None:
    """0.333 a unit rounds to 0.33 before it is multiplied: three units come to 0.99, the
    invoice line's amount, not the 1.00 the raw product would show."""
    o = jumpseller({"sku": "PIN", "qty": 3, "price": 0.333}, total=0.99)
    assert line_totals(o) == [D("0.99")] == [line.gross for line in invoice_preview(o).lines]


def test_line_totals_take_discounts_per_unit_or_per_line_as_the_order_does() -> None:
    per_unit = jumpseller({"sku": "A", "qty": 2, "price": 10.0, "discount": 1.0}, discount=2.0, total=18.0)
    assert line_totals(per_unit) == [D("18.00")]
    per_line = jumpseller(
        {"sku": "A", "qty": 2, "price": 10.0, "discount": 3.0},
        {"sku": "B", "qty": 1, "price": 5.0},
        discount=3.0,
        total=22.0,
    )
    assert line_totals(per_line) == [D("17.00"), D("5.00")]


def test_rules_do_not_use_the_threads_decimal_context() -> None:
    """A worker thread that traps inexact results (a strict setting some libraries use) gets
    the same preview as any other thread: VAT inside a tax-inclusive price is a division."""
    o = jumpseller(
        {"sku": "TEE", "qty": 1, "price": 10.0, "taxes": [{"rate": 19.0, "tax_on_product_price": True}]},
        tax=1.6,
        total=10.0,
    )
    here = invoice_preview(o)
    box: dict[str, Any] = {}

    def run() -> None:
        decimal.getcontext().traps[decimal.Inexact] = True
        decimal.getcontext().prec = 6
        try:
            box["preview"] = (invoice_preview(o), invoice_blocker(o), line_totals(o))
        except Exception as exc:
            box["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert "error" not in box, box.get("error")
    assert box["preview"] == (here, None, [D("10.00")])
