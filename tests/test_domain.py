"""Tolerance rules of the domain parsers: odd values become problems, never crashes."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from invoicedesk.domain import (
    Document,
    Invoice,
    Source,
    invoice_status,
    order_status,
    parse_datetime,
    parse_documents,
    parse_invoice,
    parse_invoice_document,
    parse_invoice_page,
    parse_order,
    parse_orders,
    parse_shipments,
    shipment_status,
    to_datetime,
)
from invoicedesk.errors import MalformedResponseError
from invoicedesk.money import parse_amount, to_decimal

# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, Decimal("0.1")),  # through str, not the binary float
        (369.2, Decimal("369.2")),
        (10, Decimal("10")),
        ("100.0", Decimal("100.0")),
        ("10", Decimal("10")),
        ("100.", Decimal("100")),
        (" 5 ", Decimal("5")),
        ("-5.50", Decimal("-5.50")),
        (Decimal("1.25"), Decimal("1.25")),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_amounts_are_read_as_decimal(value: object, expected: Decimal | None) -> None:
    problems: list[str] = []
    got = to_decimal(value, field="total", problems=problems)
    assert got == expected
    assert got is None or isinstance(got, Decimal)
    assert problems == []


def test_float_amounts_keep_their_shortest_decimal_form() -> None:
    assert str(to_decimal(0.1)) == "0.1"
    assert to_decimal(0.1) + to_decimal(0.2) == Decimal("0.3")  # type: ignore[operator]


@pytest.mark.parametrize(
    "value",
    [True, False, [1], {"amount": 1}, "ten dollars", "1,5", float("nan"), float("inf"), "Infinity", "1e999"],
)
def test_garbage_amounts_are_flagged_with_the_field_name_not_raised(value: object) -> None:
    problems: list[str] = []
    assert to_decimal(value, field="products[0].price", problems=problems) is None
    assert len(problems) == 1
    assert problems[0].startswith("products[0].price:")
    assert "not an amount" in problems[0]
    with pytest.raises(ValueError):
        parse_amount(value)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-02-10 13:56:35 UTC", datetime(2023, 2, 10, 13, 56, 35, tzinfo=UTC)),
        ("2024-11-05T11:26:30Z", datetime(2024, 11, 5, 11, 26, 30, tzinfo=UTC)),
        (
            "2022-11-15T15:10:35+11:00",
            datetime(2022, 11, 15, 15, 10, 35, tzinfo=timezone(timedelta(hours=11))),
        ),
        (
            "2020-11-11T14:49:18.000+11:00",
            datetime(2020, 11, 11, 14, 49, 18, tzinfo=timezone(timedelta(hours=11))),
        ),
        ("2021-05-03", datetime(2021, 5, 3, tzinfo=UTC)),
        ("2021-05-03T10:00:00", datetime(2021, 5, 3, 10, tzinfo=UTC)),  # no zone: Jumpseller says UTC
    ],
)
def test_dates_in_every_format_the_services_use_are_aware(text: str, expected: datetime) -> None:
    got = parse_datetime(text)
    assert got == expected
    assert got is not None and got.utcoffset() == expected.utcoffset()


def test_offsets_are_kept_and_compare_by_instant() -> None:
    sydney = parse_datetime("2022-11-15T15:10:35+11:00")
    utc = parse_datetime("2022-11-15 04:10:35 UTC")
    assert sydney == utc


@pytest.mark.parametrize(
    "value",
    ["2020-13-11T14:49:18.000+11:00", "2021-02-30", "yesterday", 1700000000, ["2021-05-03"], "0001-01-01"],
)
def test_impossible_dates_become_none_and_a_problem_naming_field_and_value(value: object) -> None:
    problems: list[str] = []
    assert to_datetime(value, field="collected_at", problems=problems) is None
    assert len(problems) == 1
    assert problems[0].startswith("collected_at:")
    assert repr(value)[:20] in problems[0]


# --------------------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Paid", "paid"),
        ("Pagado", "paid"),
        ("Pago", "paid"),
        ("PAID ", "paid"),
        ("Pending Payment", "pending_payment"),
        ("pending_payment", "pending_payment"),
        ("Pago Pendiente", "pending_payment"),
        ("Pendiente de pago", "pending_payment"),
        ("Pagamento Pendente", "pending_payment"),
        ("Aguardando  Pagamento", "pending_payment"),
        ("Canceled", "canceled"),
        ("Cancelled", "canceled"),
        ("Cancelado", "canceled"),
        ("Anulado", "canceled"),
        ("Abandoned", "abandoned"),
        ("Abandonado", "abandoned"),
        ("created", "created"),
        ("Something else", "unknown"),
    ],
)
def test_order_status_names_in_english_spanish_portuguese(text: str, canonical: str) -> None:
    assert order_status(text) == canonical


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Unfulfilled", "unfulfilled"),
        ("Not Processed", "unfulfilled"),
        ("Requested", "requested"),
        ("In Transit", "in_transit"),
        ("in_transit", "in_transit"),
        ("En tránsito", "in_transit"),
        ("en transito", "in_transit"),
        ("Em trânsito", "in_transit"),
        ("Delivered", "delivered"),
        ("Entregado", "delivered"),
        ("Entregue", "delivered"),
        ("Failed", "failed"),
        ("Pickup Available", "pickup_available"),
        ("pickup_available", "pickup_available"),
        ("Disponible para retiro", "pickup_available"),
        ("teleported", "unknown"),
    ],
)
def test_shipment_status_names(text: str, canonical: str) -> None:
    assert shipment_status(text) == canonical


def test_invoice_statuses_accept_both_spellings_of_cancelled() -> None:
    assert invoice_status("cancelled") == invoice_status("Canceled") == "cancelled"
    assert invoice_status("partially_sent") == invoice_status("Partially sent") == "partially_sent"


# --------------------------------------------------------------------------- orders


def order_body(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1001,
        "created_at": "2024-03-01 10:00:00 UTC",
        "status": "Paid",
        "status_enum": "paid",
        "currency": "USD",
        "subtotal": 100.0,
        "tax": 19.0,
        "shipping": 10.0,
        "total": 129.0,
        "customer": {"id": 77, "email": "ana@example.com", "phone": "+1 555", "fullname": "Ana Díaz"},
        "billing_address": {"name": "Ana", "surname": "Díaz", "taxid": "76.123.456-7", "postal": "8320000"},
        "shipping_address": {"name": "Ana", "surname": "Díaz", "street_number": 42},
        "billing_information": {"company_name": "Díaz Ltda"},
        "products": [
            {
                "id": 5,
                "variant_id": "9",
                "sku": "TEE-1",
                "name": "Tee",
                "qty": 2,
                "price": 50.0,
                "tax": 9.5,
                "discount": 0,
                "type": "physical",
                "taxes": [{"name": "IVA", "rate": 19.0, "fixed": False, "tax_on_product_price": False}],
                "options": [{"name": "Size", "value": "M"}],
            }
        ],
        "tracking_number": "TRK123",
        "shipping_option": "delivery",
    }
    base.update(fields)
    return {"order": base}


def test_a_full_order_is_read_into_typed_fields() -> None:
    order = parse_order(order_body(), account="demo-store")
    assert order.id == 1001 and order.account == "demo-store"
    assert order.status == "paid" and order.status_label == "Paid"
    assert order.total == Decimal("129.0") and order.total_known
    assert order.created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert order.customer.id == "77"  # a number in real payloads, a string in the docs
    assert order.customer.tax_id == "76.123.456-7"  # from billing_address.taxid
    assert order.customer.company_name == "Díaz Ltda"  # from billing_information
    assert order.is_business
    assert order.shipping_address.street_number == "42"
    line = order.lines[0]
    assert (line.id, line.variant_id, line.qty, line.price) == ("5", "9", 2, Decimal("50.0"))
    assert line.tax_rate == Decimal("19.0") and line.tax_included is False
    assert line.options == (("Size", "M"),)
    assert order.skus == ("TEE-1",)
    assert order.problems == ()


def test_the_body_or_the_inner_order_object_are_both_accepted() -> None:
    body = order_body()
    assert parse_order(body, account="a") == parse_order(body["order"], account="a")


def test_raw_is_the_payload_as_sent_and_never_modified() -> None:
    body = order_body(total="garbage", customer="not an object")
    before = copy.deepcopy(body)
    order = parse_order(body, account="a")
    assert body == before
    assert order.raw == before


@pytest.mark.parametrize(("value", "expected"), [(1026, 1026), ("1026", 1026), (1026.0, 1026)])
def test_order_id_accepts_number_or_string(value: object, expected: int) -> None:
    order = parse_order(order_body(id=value), account="a")
    assert order.id == expected
    assert order.problems == ()


def test_an_unreadable_order_id_is_a_problem_not_a_crash() -> None:
    order = parse_order(order_body(id="ABC"), account="a")
    assert order.id == 0
    assert any(p.startswith("id:") for p in order.problems)


def test_status_enum_wins_over_the_translated_text() -> None:
    order = parse_order(order_body(status="Pagado", status_enum="canceled"), account="a")
    assert order.status == "canceled"
    assert order.status_label == "Pagado"  # shown as the store wrote it


def test_translated_status_is_used_when_there_is_no_enum() -> None:
    body = order_body(status="Pendiente de pago")
    del body["order"]["status_enum"]
    order = parse_order(body, account="a")
    assert order.status == "pending_payment"
    assert order.summary().status_label == "Pendiente de pago"


def test_unknown_status_is_flagged() -> None:
    body = order_body(status="Teleported")
    del body["order"]["status_enum"]
    order = parse_order(body, account="a")
    assert order.status == "unknown"
    assert any("Teleported" in p and p.startswith("status:") for p in order.problems)


def test_shipment_status_from_enum_then_text() -> None:
    assert (
        parse_order(order_body(shipment_status_enum="in_transit"), account="a").shipment_status
        == "in_transit"
    )
    assert parse_order(order_body(shipment_status="Entregado"), account="a").shipment_status == "delivered"
    assert parse_order(order_body(), account="a").shipment_status == "unknown"


def test_gift_cards_are_read_from_either_field_name() -> None:
    api = parse_order(order_body(gift_cards_discount=25.0), account="a")
    guide = parse_order(order_body(gift_cards_amount="25.00"), account="a")
    assert api.gift_cards_amount == guide.gift_cards_amount == Decimal("25")
    assert api.has_gift_cards and guide.has_gift_cards
    assert not parse_order(order_body(), account="a").has_gift_cards


def test_disagreeing_gift_card_fields_are_flagged() -> None:
    order = parse_order(order_body(gift_cards_discount=25.0, gift_cards_amount=30.0), account="a")
    assert order.gift_cards_amount == Decimal("25.0")
    assert any("gift_cards_amount" in p for p in order.problems)


def test_missing_total_is_zero_with_a_problem_and_blank_in_the_list() -> None:
    body = order_body()
    del body["order"]["total"]
    order = parse_order(body, account="a")
    assert order.total == Decimal(0) and not order.total_known
    assert any(p.startswith("total") and "missing" in p for p in order.problems)
    assert order.summary().total is None
    assert order.summary().problems_count == len(order.problems) >= 1


def test_garbage_money_is_kept_raw_and_flagged() -> None:
    order = parse_order(order_body(total=True, shipping=[1, 2], tax={"x": 1}), account="a")
    assert order.total == 0 and not order.total_known
    assert order.shipping == 0 and order.tax == 0
    assert {p.split(":")[0] for p in order.problems} >= {"total", "shipping", "tax"}
    assert order.raw["order"]["shipping"] == [1, 2]


def test_wrong_types_for_nested_objects_become_defaults_and_problems() -> None:
    order = parse_order(
        order_body(customer="Ana", products={"sku": "X"}, billing_address=["street"], billing_information=3),
        account="a",
    )
    assert order.customer.email == "" and order.lines == ()
    assert order.billing_address.city == ""
    flagged = {p.split(":")[0] for p in order.problems}
    assert flagged >= {"customer", "products", "billing_address", "billing_information"}
    order.summary()


def test_odd_product_entries_are_skipped_or_defaulted_with_problems() -> None:
    body = order_body()
    good = body["order"]["products"][0]
    body["order"]["products"] = [
        "TEE-1",
        {**good, "qty": "two", "price": "12,50", "taxes": "IVA", "options": 5},
    ]
    order = parse_order(body, account="a")
    assert len(order.lines) == 1
    line = order.lines[0]
    assert line.qty == 0 and line.price == 0 and line.tax_rate is None and line.options == ()
    flagged = {p.split(":")[0] for p in order.problems}
    assert flagged >= {
        "products[0]",
        "products[1].qty",
        "products[1].price",
        "products[1].taxes",
        "products[1].options",
    }


def test_fixed_taxes_are_not_percent_rates() -> None:
    body = order_body()
    body["order"]["products"][0]["taxes"] = [{"name": "Bag fee", "rate": 0.1, "fixed": True}]
    assert parse_order(body, account="a").lines[0].tax_rate is None


def test_text_fields_accept_numbers_and_reject_containers() -> None:
    order = parse_order(order_body(tracking_number=123456, payment_method_name={"name": "Card"}), account="a")
    assert order.tracking_number == "123456"
    assert order.payment_method_name == ""
    assert any(p.startswith("payment_method_name:") for p in order.problems)


def test_impossible_order_date_is_a_problem() -> None:
    order = parse_order(order_body(created_at="2023-02-30 10:00:00 UTC"), account="a")
    assert order.created_at is None
    assert any(p.startswith("created_at:") and "2023-02-30" in p for p in order.problems)


def test_customer_name_falls_back_to_billing_name_then_company() -> None:
    body = order_body(customer={"email": "x@example.com"})
    assert parse_order(body, account="a").summary().customer == "Ana Díaz"
    body = order_body(customer={"email": "x@example.com"}, billing_address={})
    assert parse_order(body, account="a").summary().customer == "Díaz Ltda"


def test_order_summary_row() -> None:
    order = parse_order(order_body(), account="demo-store")
    invoice = Document(public_id="F-17", url="https://inv.example/F-17", document_type=1)
    row = replace(order, documents=(invoice,)).summary()
    assert row.source is Source.JUMPSELLER and row.source == "jumpseller"
    assert (row.account, row.id, row.currency) == ("demo-store", "1001", "USD")
    assert row.customer == "Ana Díaz" and row.email == "ana@example.com"
    assert row.total == Decimal("129.0")
    assert (row.status, row.status_label, row.delivery_type) == ("paid", "Paid", "delivery")
    assert (row.invoice_public_id, row.invoice_url) == ("F-17", "https://inv.example/F-17")
    assert row.needs_action == ""
    for word in ("1001", "ana díaz", "díaz ltda", "ana@example.com", "tee-1", "trk123", "f-17"):
        assert word in row.search_text
    assert row.search_text == row.search_text.lower()


# --------------------------------------------------------------------------- documents


def test_documents_are_parsed_and_the_latest_invoice_and_credit_note_found() -> None:
    docs = parse_documents(
        [
            {
                "document": {
                    "document_type": 1,
                    "public_id": "F-1",
                    "url": "u1",
                    "created_at": "2024-01-01 10:00:00 UTC",
                }
            },
            {"document": {"document_type": "1", "public_id": "F-2", "created_at": "2024-02-01 10:00:00 UTC"}},
            {"document": {"document_type": 0, "public_id": "NC-1", "external_id": 99}},
            {"public_id": "bare", "document_type": 7},
        ],
        account="a",
    )
    assert [d.public_id for d in docs] == ["F-1", "F-2", "NC-1", "bare"]
    assert docs[2].is_credit_note and docs[2].external_id == "99"
    assert docs[3].document_type == -1 and not docs[3].is_invoice and not docs[3].is_credit_note
    order = replace(parse_order(order_body(), account="a"), documents=tuple(docs))
    assert order.invoice is not None and order.invoice.public_id == "F-2"
    assert order.credit_note is not None and order.credit_note.public_id == "NC-1"


def test_an_order_without_documents_has_no_invoice() -> None:
    order = parse_order(order_body(), account="a")
    assert order.invoice is None and order.credit_note is None
    assert order.summary().invoice_public_id == ""


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize("body", [[], [{"order": {}}], 5, "order", None, {"order": [1]}, {"order": "x"}])
def test_an_order_that_is_not_an_object_raises_malformed_naming_the_endpoint(body: object) -> None:
    with pytest.raises(MalformedResponseError) as info:
        parse_order(body, account="shop", endpoint="/v1/orders/5.json")
    assert "/v1/orders/5.json" in str(info.value)
    assert info.value.endpoint == "/v1/orders/5.json"


@pytest.mark.parametrize("body", [{"order": {}}, 3, "[]", None, [1, 2], [{"order": {}}, "x"]])
def test_an_order_list_that_is_not_a_list_of_objects_raises_malformed(body: object) -> None:
    with pytest.raises(MalformedResponseError, match=r"/v1/orders\.json"):
        parse_orders(body, account="shop", endpoint="/v1/orders.json")


def test_an_empty_order_object_parses_with_problems() -> None:
    order = parse_order({}, account="a")
    assert order.id == 0 and order.status == "unknown"
    assert order.problems
    order.summary()


@pytest.mark.parametrize("body", [{"document": {}}, [3], ["x"], [{"document": "x"}], 1])
def test_documents_that_are_not_a_list_of_objects_raise_malformed(body: object) -> None:
    with pytest.raises(MalformedResponseError, match=r"documents\.json"):
        parse_documents(body, account="a", endpoint="/v1/orders/1/documents.json")


@pytest.mark.parametrize(
    "doc", [[], "x", 5, {"errors": ["nope"]}, {"data": []}, {"data": "1"}, {"data": None}]
)
def test_an_invoice_document_without_one_resource_raises_malformed(doc: object) -> None:
    with pytest.raises(MalformedResponseError, match="/api/v2/client/invoices/1"):
        parse_invoice_document(doc, account="bike", currency="AUD", endpoint="/api/v2/client/invoices/1")


@pytest.mark.parametrize("doc", [[], {"data": {"id": 1}}, {"data": [1]}, {"links": {}}, 7])
def test_an_invoice_page_without_a_list_raises_malformed(doc: object) -> None:
    with pytest.raises(MalformedResponseError, match="/api/v2/client/invoices"):
        parse_invoice_page(doc, account="bike", currency="AUD", endpoint="/api/v2/client/invoices")


def test_parse_invoice_refuses_a_non_object_resource() -> None:
    with pytest.raises(MalformedResponseError):
        parse_invoice(["x"], [], account="bike", currency="AUD")


# --------------------------------------------------------------------------- invoices


def invoice_resource(**attributes: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "paid_at": "2022-11-15T15:10:35+11:00",
        "created_at": "2022-11-15T15:10:30+11:00",
        "status": "paid",
        "delivery_type": "buy_online",
        "subtotal": "110.0",
        "discount": "10",
        "total": "100.",
        "tax_total": "9.09",
        "postage": "0.0",
        "tax_inclusive": True,
        "postage_tracking": "33PKP0004327, 33PKP0004328",
        "postage_carrier": "Australia Post,StarTrack",
        "external_id": "EXT-9",
        "seller_id": 78,
    }
    attrs.update(attributes)
    return {
        "id": "10112",
        "type": "invoices",
        "attributes": attrs,
        "relationships": {
            "line_items": {"data": [{"type": "line_items", "id": "7"}]},
            "customer": {"data": {"type": "customers", "id": "customer"}},
            "billing_customer": {"data": {"type": "customers", "id": "billing_customer"}},
        },
    }


INCLUDED: list[dict[str, Any]] = [
    {
        "id": 7,  # a number here, a string in the relationship: matched as strings
        "type": "line_items",
        "attributes": {
            "price": "50.0",
            "total": "100.0",
            "quantity": 2,
            "advert_name": "Helmet",
            "variant_name": "Red / M",
            "variant_sku": "HEL-RM",
            "variant_barcode": "0871",
            "status": "allocated",
        },
    },
    {
        "id": 8,
        "type": "line_items",
        "attributes": {"advert_name": "Someone else's line", "variant_sku": "OTHER"},
    },
    {
        "id": "customer",
        "type": "customers",
        "attributes": {
            "first_name": "Test",
            "surname": "User",
            "company_name": "Acme Pty Ltd",
            "email_address": "test@example.com",
            "phone": "0491570156",
            "address": "1 Example Road",
            "city": "Melbourne",
            "state": "Victoria",
            "postcode": "3000",
            "country": "Australia",
        },
    },
    {
        "id": "billing_customer",
        "type": "customers",
        "attributes": {"first_name": "Bill", "surname": "Payer", "email_address": "bill@example.com"},
    },
]


def test_a_list_invoice_resolves_only_its_own_included_resources() -> None:
    inv = parse_invoice(invoice_resource(), INCLUDED, account="bikeshop", currency="aud")
    assert inv.id == "10112" and inv.currency == "AUD" and inv.seller_id == "78"
    assert inv.total == Decimal("100") and inv.tax_total == Decimal("9.09")
    assert [line.sku for line in inv.lines] == ["HEL-RM"]
    assert inv.lines[0].quantity == 2 and inv.lines[0].price == Decimal("50.0")
    assert inv.customer.fullname == "Test User" and inv.customer.company_name == "Acme Pty Ltd"
    assert inv.shipping_address.city == "Melbourne" and inv.shipping_address.postal == "3000"
    assert inv.shipping_address.region == "Victoria"
    assert inv.billing_customer.email == "bill@example.com"
    assert inv.postage_tracking == ("33PKP0004327", "33PKP0004328")
    assert inv.postage_carrier == ("Australia Post", "StarTrack")
    assert inv.problems == ()


def test_raw_of_a_list_invoice_reparses_to_the_same_record() -> None:
    inv = parse_invoice(invoice_resource(), INCLUDED, account="bikeshop", currency="AUD")
    again = parse_invoice_document(inv.raw, account="bikeshop", currency="AUD")
    assert again == inv
    assert all(res["id"] != 8 for res in inv.raw["included"])  # other invoices' lines left out


def test_page_links_next_and_ids_as_strings() -> None:
    doc = {
        "data": [invoice_resource(), {**invoice_resource(), "id": 10113}],
        "included": INCLUDED,
        "links": {"next": "https://mp.example/api/v2/client/invoices?page[number]=2"},
    }
    invoices, nxt = parse_invoice_page(doc, account="bikeshop", currency="AUD")
    assert [i.id for i in invoices] == ["10112", "10113"]
    assert nxt == "https://mp.example/api/v2/client/invoices?page[number]=2"
    assert (
        parse_invoice_page({"data": [], "links": {"next": {"href": "/p2"}}}, account="b", currency="AUD")[1]
        == "/p2"
    )
    assert parse_invoice_page({"data": [], "links": {"next": None}}, account="b", currency="AUD")[1] is None
    assert parse_invoice_page({"data": []}, account="b", currency="AUD") == ([], None)


def test_marketplacer_money_strings_and_garbage() -> None:
    inv = parse_invoice(invoice_resource(total=["100"], postage="free"), [], account="b", currency="AUD")
    assert inv.total == 0 and not inv.total_known and inv.postage == 0
    assert {p.split(":")[0] for p in inv.problems} >= {"total", "postage"}
    assert inv.summary().total is None


def test_wrong_nested_types_in_an_invoice_are_problems() -> None:
    res = invoice_resource()
    res["attributes"] = "nope"
    res["relationships"] = ["x"]
    inv = parse_invoice(res, {"not": "a list"}, account="b", currency="AUD")
    assert inv.status == "unknown" and inv.lines == ()
    flagged = " ".join(inv.problems)
    assert "data.attributes" in flagged and "included" in flagged and "relationships" in flagged
    inv.summary()


def test_invoice_summary_row() -> None:
    inv = parse_invoice(invoice_resource(), INCLUDED, account="bikeshop", currency="AUD")
    row = inv.summary()
    assert row.source is Source.MARKETPLACER
    assert row.date == datetime(2022, 11, 15, 15, 10, 35, tzinfo=timezone(timedelta(hours=11)))  # paid_at
    assert (row.customer, row.email, row.total, row.currency) == (
        "Test User",
        "test@example.com",
        Decimal("100"),
        "AUD",
    )
    assert (row.status, row.status_label, row.delivery_type) == ("paid", "Paid", "buy_online")
    for word in ("10112", "test user", "acme pty ltd", "bill@example.com", "hel-rm", "33pkp0004328", "ext-9"):
        assert word in row.search_text


def test_search_text_holds_each_part_once() -> None:
    """The billing email is mostly the customer's and a SKU may be on several lines: each is
    kept once, so the trigram index and every search read less."""
    from dataclasses import replace

    inv = parse_invoice(invoice_resource(), INCLUDED, account="bikeshop", currency="AUD")
    same = replace(inv, billing_customer=replace(inv.billing_customer, email=inv.customer.email))
    text = same.summary().search_text
    assert text.split().count(inv.customer.email.lower()) == 1
    assert inv.customer.email.lower() in text


REFUSALS = [
    # delivery, status, action, allowed, words in the refusal
    ("buy_online", "paid", "sent", True, ""),
    ("buy_online", "partially_sent", "sent", True, ""),
    ("buy_online", "sent", "sent", False, "already"),
    (
        "click_and_collect",
        "paid",
        "sent",
        False,
        "Only Buy Online invoices can be marked sent; this one is Click and Collect.",
    ),
    ("click_and_collect", "paid", "ready", True, ""),
    ("click_and_collect", "ready", "ready", False, "already"),
    (
        "buy_online",
        "paid",
        "ready",
        False,
        "Only Click and Collect invoices can be marked ready; this one is Buy Online.",
    ),
    ("click_and_collect", "ready", "collected", True, ""),
    ("click_and_collect", "paid", "collected", False, "mark it ready"),
    ("click_and_collect", "collected", "collected", False, "already"),
    ("buy_online", "sent", "collected", False, "Only Click and Collect"),
    ("unknown", "paid", "sent", False, "this one is unknown delivery type"),
    ("buy_online", "refunded", "sent", False, "refunded"),
]


@pytest.mark.parametrize(("delivery", "status", "action", "allowed", "words"), REFUSALS)
def test_invoice_actions_follow_the_state_diagram(
    delivery: str, status: str, action: str, allowed: bool, words: str
) -> None:
    inv = Invoice(id="5", delivery_type=delivery, status=status)
    refusal = inv.action_refusal(action)
    assert (refusal is None) is allowed
    assert inv.action_refusal("mark_" + action) == refusal
    assert getattr(inv, f"can_mark_{action}") is allowed
    if refusal is not None:
        assert words in refusal and refusal.endswith(".")


def test_an_unknown_action_is_refused_in_words() -> None:
    assert Invoice(id="1").action_refusal("teleport") == "There is no action called 'teleport' for invoices."


def test_shipments_resolve_and_carry_shipped_items() -> None:
    doc = {
        "data": [
            {
                "id": 3,
                "type": "shipments",
                "attributes": {
                    "shipment_tracking_number": "T1",
                    "shipment_carrier": "AusPost",
                    "dispatched_at": "2021-05-03",
                    "shipped_items": [{"line_item_id": 7, "quantity": "2"}, "junk"],
                },
            }
        ]
    }
    (shipment,) = parse_shipments(doc)
    assert shipment.id == "3" and shipment.items == (("7", 2),)
    assert shipment.dispatched_at == datetime(2021, 5, 3, tzinfo=UTC)
