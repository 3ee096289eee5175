"""Invoice rules: VAT per item, currency minor units, gift cards, totals that add up."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from invoicedesk.domain import Order, OrderLine, parse_order
from invoicedesk.rules import format_money, invoice_lines, invoice_preview, minor_units
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
