"""Every reference payload from the services' own documentation parses to known values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from invoicedesk.domain import (
    Invoice,
    parse_invoice_document,
    parse_invoice_page,
    parse_order,
    parse_orders,
    parse_shipments,
)
from tests.fixtures import FIXTURES

REFERENCE = FIXTURES
AEST = timezone(timedelta(hours=10))
AEDT = timezone(timedelta(hours=11))

def load(name: str) -> Any:
    data = json.loads((REFERENCE / name).read_text(encoding="utf-8"))
    return data["payload"] if isinstance(data, dict) and "payload" in data else data


# The list sample printed in marketplacer-invoices-rest-api.txt, copied verbatim: it holds
# "collected_at": "2020-13-11T14:49:18.000+11:00", a date that cannot exist.
API_DOC_LIST_SAMPLE: dict[str, Any] = {
    "data": [
        {
            "type": "invoices",
            "id": "10112",
            "attributes": {
                "postage": "0.0",
                "postage_before_discount": "0.0",
                "paid_at": "2020-11-11T14:49:18.000+11:00",
                "status": "sent",
                "delivery_type": "buy_online",
                "ready_at": "2020-11-12T14:49:18.000+11:00",
                "collected_at": "2020-13-11T14:49:18.000+11:00",
                "subtotal": "100.0",
                "discount": "0.0",
                "total": "100.0",
                "tax_on_postage": "0.0",
                "tax_total": "9.09",
                "created_at": "2020-11-11T14:49:13.000+11:00",
                "tax_inclusive": True,
                "message_to_seller": "",
                "seller_id": 78,
                "postage_tracking": "33PKP0004327",
                "postage_carrier": "Australia Post",
                "external_id": "123abc",
                "metadata": [{"key": "SomeKey", "value": "Some Value"}],
            },
        }
    ]
}


# --------------------------------------------------------------------------- Jumpseller


def test_jumpseller_docs_order_1026() -> None:
    body = load("jumpseller/order-1026-docs-example.json")
    order = parse_order(body, account="demo-store")
    assert order.id == 1026
    assert order.created_at == datetime(2023, 2, 10, 13, 56, 35, tzinfo=UTC)
    assert order.completed_at is None
    assert (order.status, order.status_label) == ("pending_payment", "Pending Payment")
    assert order.shipment_status == "unfulfilled"  # "Not Processed"
    assert order.currency == "USD"
    assert order.subtotal == Decimal("399.0")
    assert order.shipping == Decimal("50.0")
    assert order.discount == Decimal("79.8")
    assert order.tax == order.shipping_tax == order.gift_cards_amount == Decimal(0)
    assert order.total == Decimal("369.2")
    assert (order.payment_method_name, order.shipping_method_name) == ("Cash Collection", "Flat Rate")
    assert order.shipping_option == "delivery"
    assert order.customer.id == "123" and order.customer.email == "test@gmail.com"
    assert order.customer.fullname == "John Mattos"  # no fullname in the payload: from billing
    assert order.customer.tax_id == "" and not order.is_business
    assert order.billing_address.address == "Nok Ltd" and order.billing_address.postal == "5771"
    assert order.shipping_address.city == "London" and order.shipping_address.country_code == "GB"
    assert order.shipping_address.street_number == ""
    (line,) = order.lines
    assert (line.id, line.variant_id, line.sku, line.name, line.qty) == (
        "10732902",
        "81899012",
        "black",
        "Black",
        1,
    )
    assert (line.price, line.tax, line.discount, line.tax_rate) == (
        Decimal("399.0"),
        0,
        Decimal("79.8"),
        None,
    )
    assert order.problems == ()
    assert order.raw == body
    row = order.summary()
    assert (row.id, row.customer, row.total, row.status) == (
        "1026",
        "John Mattos",
        Decimal("369.2"),
        "pending_payment",
    )
    assert "black" in row.search_text


def test_jumpseller_list_shape_parses_each_order_once() -> None:
    body = load("jumpseller/order-1026-docs-example.json")
    second = json.loads(json.dumps(body))
    second["order"]["id"] = 1027
    orders = parse_orders([body, second], account="demo-store", endpoint="/v1/orders.json")
    assert [o.id for o in orders] == [1026, 1027]


def test_lightweight_contract_order_shape_is_also_readable() -> None:
    """The invoicing contract's order (quantity, customer.tax_id, ISO date) parses too."""
    contract = load("jumpseller/lightweight-invoicing-contract.json")
    order = parse_order(contract["request_POST_to_merchant_endpoint"], account="demo-store")
    assert order.id == 1020 and order.status == "paid"
    assert order.created_at == datetime(2024, 11, 5, 11, 26, 30, tzinfo=UTC)
    assert order.customer.fullname == "John Smith" and order.customer.tax_id == "US123456789"
    assert order.lines[0].qty == 1 and order.lines[0].sku == "TSHIRT-01"
    assert order.billing_address.postal == "10001"
    assert order.total == Decimal("10.0")


# --------------------------------------------------------------------------- Marketplacer


def check_doc_invoice(inv: Invoice) -> None:
    """What every single-invoice sample of the docs has in common."""
    assert inv.id == "1" and inv.account == "bikeshop" and inv.currency == "AUD"
    assert inv.delivery_type == "click_and_collect"
    assert inv.paid_at == datetime(2021, 5, 23, 13, 7, 7, tzinfo=AEST)
    assert inv.created_at == inv.paid_at
    assert (inv.subtotal, inv.discount, inv.total) == (Decimal("110.0"), Decimal("10"), Decimal("100"))
    assert inv.tax_total == 0 and inv.postage == Decimal("10.0")
    assert inv.tax_inclusive  # not in these samples: Marketplacer's default
    assert inv.seller_id == "2"
    (line,) = inv.lines
    assert (line.id, line.advert_name, line.variant_name) == ("1", "Giant Cypress DX", "Navy Blue / Medium")
    assert (line.sku, line.barcode, line.quantity, line.status) == ("", "08717611735314", 1, "allocated")
    assert (line.price, line.total) == (Decimal("100.0"), Decimal("100.0"))
    assert inv.problems == ()
    assert inv.summary().total == Decimal("100")


def test_marketplacer_invoice_show() -> None:
    doc = load("marketplacer/invoice_show_200.json")
    inv = parse_invoice_document(doc, account="bikeshop", currency="AUD")
    check_doc_invoice(inv)
    assert inv.status == "paid" and inv.ready_at is None and inv.collected_at is None
    assert inv.customer.fullname == "Test User" and inv.customer.email == "test@example.com"
    assert inv.customer.company_name == "Acme Pty Ltd" and inv.customer.phone == "0491570156"
    assert inv.shipping_address.address == "1 Example Road" and inv.shipping_address.postal == "3000"
    assert inv.billing_customer.email == "test+billing@example.com"
    assert inv.billing_address.region == "Victoria"
    (shipment,) = inv.shipments
    assert (shipment.id, shipment.tracking_number, shipment.carrier) == ("1", "AusPost", "12345")
    assert shipment.dispatched_at == datetime(2018, 7, 3, tzinfo=AEST)
    assert inv.action_refusal("ready") is None
    assert (
        inv.action_refusal("sent")
        == "Only Buy Online invoices can be marked sent; this one is Click and Collect."
    )
    assert inv.raw == doc
    row = inv.summary()
    assert (row.customer, row.email, row.status_label) == ("Test User", "test@example.com", "Paid")
    assert "auspost" in row.search_text


def test_marketplacer_sent_response() -> None:
    inv = parse_invoice_document(
        load("marketplacer/invoice_sent_response_200.json"), account="bikeshop", currency="AUD"
    )
    check_doc_invoice(inv)  # the doc's own inconsistency: "sent" yet click_and_collect
    assert inv.status == "sent" and len(inv.shipments) == 1
    assert inv.customer.fullname == ""  # no customer included in this response
    assert not inv.can_mark_sent and not inv.can_mark_ready and not inv.can_mark_collected


def test_marketplacer_ready_response() -> None:
    inv = parse_invoice_document(
        load("marketplacer/invoice_ready_response_200.json"), account="bikeshop", currency="AUD"
    )
    check_doc_invoice(inv)
    assert inv.status == "ready" and inv.ready_at == datetime(2021, 5, 25, 13, 7, 7, tzinfo=AEST)
    assert inv.shipments == ()
    assert inv.can_mark_collected and not inv.can_mark_ready


def test_marketplacer_collected_response() -> None:
    inv = parse_invoice_document(
        load("marketplacer/invoice_collected_response_200.json"), account="bikeshop", currency="AUD"
    )
    check_doc_invoice(inv)
    assert inv.status == "collected" and inv.status_label == "Collected"
    assert inv.collected_at == datetime(2021, 5, 25, 13, 7, 7, tzinfo=AEST)
    assert inv.action_refusal("collected") == "Invoice 1 is already marked collected."


def test_marketplacer_invoice_list_sample() -> None:
    invoices, nxt = parse_invoice_page(
        load("marketplacer/invoices_list_200.json"),
        account="bikeshop",
        currency="AUD",
        endpoint="/api/v2/client/invoices",
    )
    assert nxt is None
    (inv,) = invoices
    check_doc_invoice_without_lines(inv)


def check_doc_invoice_without_lines(inv: Invoice) -> None:
    assert inv.id == "1" and inv.status == "paid" and inv.delivery_type == "click_and_collect"
    assert inv.total == Decimal("100") and inv.lines == () and inv.problems == ()
    assert inv.can_mark_ready


def test_marketplacer_pagination_links() -> None:
    doc = {"data": [], **load("marketplacer/pagination_links.json")}
    invoices, nxt = parse_invoice_page(doc, account="bikeshop", currency="AUD")
    assert invoices == [] and nxt == "[route]?page[number]=2&page[size]=50"


def test_api_doc_list_sample_with_an_impossible_date() -> None:
    invoices, nxt = parse_invoice_page(API_DOC_LIST_SAMPLE, account="bikeshop", currency="AUD")
    assert nxt is None
    (inv,) = invoices
    assert inv.id == "10112" and inv.status == "sent" and inv.delivery_type == "buy_online"
    assert inv.paid_at == datetime(2020, 11, 11, 14, 49, 18, tzinfo=AEDT)
    assert inv.ready_at == datetime(2020, 11, 12, 14, 49, 18, tzinfo=AEDT)
    assert inv.collected_at is None  # "2020-13-11...": month 13
    (problem,) = inv.problems
    assert problem.startswith("collected_at:") and "2020-13-11T14:49:18.000+11:00" in problem
    assert (inv.subtotal, inv.total, inv.tax_total, inv.postage) == (
        Decimal("100.0"),
        Decimal("100.0"),
        Decimal("9.09"),
        Decimal("0.0"),
    )
    assert inv.tax_inclusive and inv.seller_id == "78" and inv.external_id == "123abc"
    assert inv.postage_tracking == ("33PKP0004327",) and inv.postage_carrier == ("Australia Post",)
    row = inv.summary()
    assert row.problems_count == 1 and row.total == Decimal("100.0")
    assert "33pkp0004327" in row.search_text and "123abc" in row.search_text
    assert inv.raw["data"] is API_DOC_LIST_SAMPLE["data"][0]  # kept as sent, not copied or changed
    assert inv.raw["data"]["attributes"]["collected_at"] == "2020-13-11T14:49:18.000+11:00"


@pytest.mark.parametrize(
    ("name", "number", "carrier", "link", "dispatched"),
    [
        ("shipments_list_200_docfork.json", "AusPost", "12345", "", datetime(2018, 7, 3, tzinfo=AEST)),
        (
            "shipments_list_200_live.json",
            "33PKP0004327",
            "Australia Post",
            "https://auspost.com.au/mypost/track/#/details/33PKP0004327",
            datetime(2021, 5, 3, tzinfo=UTC),
        ),
    ],
)
def test_marketplacer_shipment_lists(
    name: str, number: str, carrier: str, link: str, dispatched: datetime
) -> None:
    (shipment,) = parse_shipments(load(f"marketplacer/{name}"))
    assert (shipment.tracking_number, shipment.carrier, shipment.tracking_link) == (number, carrier, link)
    assert shipment.dispatched_at == dispatched


@pytest.mark.parametrize("name", ["shipment_show_200.json", "shipment_create_response_201.json"])
def test_marketplacer_single_shipment_with_included_shipped_items(name: str) -> None:
    (shipment,) = parse_shipments(load(f"marketplacer/{name}"))
    assert shipment.id == "1" and shipment.items == (("2", 1),)


def test_every_reference_response_is_covered() -> None:
    """Each response sample in the reference folder is read by a parser (requests are not)."""
    read: set[str] = set()
    for path in sorted((REFERENCE / "marketplacer").glob("*.json")):
        payload = load(f"marketplacer/{path.name}")
        data = payload.get("data")
        first = data[0] if isinstance(data, list) and data else data
        if not isinstance(first, dict) or "id" not in first:
            continue  # request bodies and error samples carry no resource id
        if first.get("type") == "invoices":
            if isinstance(data, list):
                records = parse_invoice_page(payload, account="bikeshop", currency="AUD")[0]
            else:
                records = [parse_invoice_document(payload, account="bikeshop", currency="AUD")]
            assert all(r.summary().id for r in records)
        else:
            assert parse_shipments(payload)
        read.add(path.name)
    assert read == {
        "invoice_collected_response_200.json",
        "invoice_ready_response_200.json",
        "invoice_sent_response_200.json",
        "invoice_show_200.json",
        "invoices_list_200.json",
        "shipment_create_response_201.json",
        "shipment_show_200.json",
        "shipments_list_200_docfork.json",
        "shipments_list_200_live.json",
    }
