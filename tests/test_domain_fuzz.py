"""Arbitrary JSON into every parser: only MalformedResponseError may escape, and every record
that comes out can be listed (``summary()``), previewed, checked for invoicing, shown and
re-read from its ``raw``.

CI runs these with a fixed set of examples (the "ci" profile in conftest.py); every
counterexample a run finds anywhere is pinned below with ``@example``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from invoicedesk.clients.invoicing import contract_payload
from invoicedesk.domain import (
    Invoice,
    Order,
    parse_datetime,
    parse_documents,
    parse_invoice,
    parse_invoice_document,
    parse_invoice_page,
    parse_order,
    parse_orders,
    parse_shipments,
    to_datetime,
)
from invoicedesk.errors import MalformedResponseError
from invoicedesk.money import MAX_QUANTITY, fits, round_money, to_decimal
from invoicedesk.rules import format_money, invoice_blocker, invoice_preview, line_totals

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENDPOINT = "/fuzz/endpoint"

ORDER_FIELDS = [
    "order", "id", "created_at", "completed_at", "status", "status_name", "status_enum", "currency",
    "subtotal", "tax", "shipping_tax", "shipping", "total", "discount", "shipping_discount",
    "gift_cards_discount", "gift_cards_amount", "payment_method_name", "shipping_method_name",
    "shipping_option", "fulfillment_status", "shipment_status", "shipment_status_enum",
    "tracking_number", "tracking_company", "tracking_url", "customer", "email", "phone", "fullname",
    "billing_address", "shipping_address", "billing_information", "company_name", "taxid", "name",
    "surname", "postal", "street_number", "products", "variant_id", "sku", "qty", "quantity", "price",
    "type", "taxes", "rate", "fixed", "tax_on_product_price", "options", "value", "document",
    "document_type", "public_id", "external_id", "url",
]  # fmt: skip
JSONAPI_FIELDS = [
    "data", "included", "links", "next", "meta", "type", "id", "attributes", "relationships",
    "line_items", "shipments", "customer", "billing_customer", "customers", "shipped_items",
    "paid_at", "created_at", "updated_at", "ready_at", "collected_at", "status", "delivery_type",
    "subtotal", "discount", "total", "tax_total", "postage", "tax_inclusive", "postage_tracking",
    "postage_carrier", "message_to_seller", "external_id", "seller_id", "price", "quantity",
    "advert_name", "variant_name", "variant_sku", "variant_barcode", "first_name", "surname",
    "company_name", "email_address", "phone", "address", "city", "state", "postcode", "country",
    "shipment_tracking_number", "shipment_carrier", "shipment_tracking_link", "note",
    "dispatched_at", "line_item_id", "href",
]  # fmt: skip
VALUES = [
    "paid", "Pagado", "pending_payment", "canceled", "sent", "partially_sent", "ready", "collected",
    "buy_online", "click_and_collect", "gift_card", "invoices", "line_items", "customers", "shipments",
    "customer", "billing_customer", "1", "100.", " 5 ", "2023-02-10 13:56:35 UTC",
    "2020-13-11T14:49:18.000+11:00", "2022-11-15T15:10:35+11:00", "2021-05-03", "A,B, C", "USD", "CLP",
]  # fmt: skip

# Numbers at the money bounds (15 digits, 1,000,000 units) and the CI counterexample's.
BOUNDARY_NUMBERS = [
    9988985783758721, 11005116296860, 10**15, 10**15 - 1, "999999999999999.9", 0.30000000000000004,
    1_000_000, 1_000_001, -1, 123456789012.345, "1E+15", 2**53 + 1,
]  # fmt: skip
CI_COUNTEREXAMPLE = {
    "order": {
        "id": 1, "status_enum": "paid", "currency": "USD", "total": 306.63, "tax": 0,
        "products": [{"sku": "X", "qty": 9988985783758721, "price": 11005116296860}],
    }
}  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(VALUES)
    | st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,3})?", fullmatch=True)  # money as Marketplacer writes it
    | st.integers(min_value=0, max_value=3)  # ids that collide across resources
    | st.sampled_from([float("nan"), float("inf"), -0.0, 1e300, 2**63, -(2**63), "NaN", "1e999", "", " "])
    | st.sampled_from(BOUNDARY_NUMBERS)
)


def mostly(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` half the time, else ``odd`` (``good | odd`` would pick among all of ``odd``'s
    many branches alike and drown ``good``; deferring ``odd`` keeps it one branch)."""
    return st.one_of(good, st.deferred(lambda: odd))


def json_values(names: list[str], leaves: int = 16) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(names) | st.text(max_size=6) if names else st.text(max_size=6)
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
        max_leaves=leaves,
    )


any_json_order = json_values(ORDER_FIELDS)
any_json_api = json_values(JSONAPI_FIELDS)


def shaped(
    names: list[str], required: tuple[str, ...] = (), **nested: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """An object with real field names: the ``required`` ones always, up to five others.
    Values are mostly plain, sometimes any JSON; ``nested`` names get a properly shaped
    child half the time."""
    field_value = mostly(scalars, json_values(names or JSONAPI_FIELDS, leaves=4))

    def value(name: str) -> st.SearchStrategy[Any]:
        return mostly(nested[name], field_value) if name in nested else field_value

    fixed = st.fixed_dictionaries(
        {name: value(name) for name in required},
        optional={name: value(name) for name in nested if name not in required},
    )
    plain = [name for name in names if name not in required and name not in nested]
    extra = st.dictionaries(st.sampled_from(plain), field_value, max_size=5) if plain else st.just({})
    return st.builds(lambda base, more: {**more, **base}, fixed, extra)


# --- Jumpseller: orders whose products, customers and addresses are real-looking objects
tax_like = shaped(["name", "rate", "fixed", "tax_on_product_price"], required=("rate",))
product_like = shaped(
    ["id", "variant_id", "sku", "name", "qty", "quantity", "price", "tax", "discount", "type"],
    required=("qty", "price"),
    taxes=st.lists(tax_like, max_size=2),
    options=st.lists(shaped(["name", "value"]), max_size=2),
)
party_like = shaped(
    ["id", "email", "phone", "fullname", "name", "surname", "taxid", "postal", "company_name"]
)
order_like = shaped(
    [f for f in ORDER_FIELDS if f != "order"],
    required=("id", "status_enum", "total", "tax", "products", "customer", "gift_cards_discount"),
    products=st.lists(product_like, min_size=1, max_size=3),
    customer=party_like,
    billing_address=party_like,
    shipping_address=party_like,
    billing_information=party_like,
)
document_fields = shaped(["document_type", "public_id", "external_id", "url", "created_at"])
with_products = st.builds(
    lambda order, products: {**order, "products": products},
    order_like,
    st.lists(product_like, min_size=1, max_size=3),
)
order_bodies = mostly(st.builds(lambda o: {"order": o}, with_products) | order_like, any_json_order)

# --- Marketplacer: JSON:API documents whose references often resolve
KINDS = ["invoices", "line_items", "customers", "shipments", "shipped_items"]
small_ids = mostly(st.sampled_from([1, "1", " 1", 2, "customer", "billing_customer"]), scalars)
kinds = mostly(st.sampled_from(KINDS), scalars)


def ref(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": mostly(st.just(kind), kinds), "id": small_ids})


relationships = shaped(
    [],
    required=("line_items", "customer"),
    line_items=st.fixed_dictionaries({"data": st.lists(ref("line_items"), min_size=1, max_size=2)}),
    shipments=st.fixed_dictionaries({"data": st.lists(ref("shipments"), max_size=2)}),
    customer=st.fixed_dictionaries({"data": ref("customers")}),
    billing_customer=st.fixed_dictionaries(
        {"data": ref("customers") | st.lists(ref("customers"), max_size=2)}
    ),
)
attributes = shaped(
    [f for f in JSONAPI_FIELDS if f != "shipped_items"],
    required=("status", "delivery_type", "total", "paid_at", "quantity", "price", "email_address"),
    shipped_items=st.lists(shaped(["line_item_id", "quantity"]), max_size=2),
)
resource_like = shaped(
    [],
    required=("type", "id", "attributes", "relationships"),
    type=kinds,
    id=small_ids,
    attributes=attributes,
    relationships=relationships,
)
included_resource = shaped(
    [],
    required=("type", "id", "attributes"),
    type=mostly(st.sampled_from(["line_items", "customers", "shipments"]), kinds),
    id=small_ids,
    attributes=attributes,
)


def json_api(data: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A JSON:API document around ``data`` (half the time), else any JSON at all."""
    document = shaped(
        [],
        required=("data", "included"),
        data=data,
        included=st.lists(included_resource, min_size=1, max_size=4),
        links=st.fixed_dictionaries({"next": scalars}),
    )
    return mostly(document, any_json_api)


@st.composite
def linked_pages(draw: st.DrawFn) -> dict[str, Any]:
    """Pages whose relationships always resolve (ids as numbers on one side, strings on the
    other), so line items and customers are read with fuzzed attribute values."""
    data: list[dict[str, Any]] = []
    included: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 2))):
        refs = []
        for _ in range(draw(st.integers(0, 2))):
            number = len(included) + 1
            flip = draw(st.booleans())
            refs.append({"type": "line_items", "id": str(number) if flip else number})
            included.append(
                {"type": "line_items", "id": number if flip else str(number), "attributes": draw(attributes)}
            )
        included.append({"type": "customers", "id": f"c{i}", "attributes": draw(attributes)})
        relations = {"line_items": {"data": refs}, "customer": {"data": {"type": "customers", "id": f"c{i}"}}}
        data.append(
            {
                "type": "invoices",
                "id": draw(small_ids),
                "attributes": draw(attributes),
                "relationships": relations,
            }
        )
    return {"data": data, "included": draw(st.permutations(included))}


single_documents = st.one_of(
    json_api(resource_like), linked_pages().map(lambda page: {**page, "data": page["data"][0]})
)
page_documents = st.one_of(json_api(st.lists(resource_like, min_size=1, max_size=2)), linked_pages())
shipment_documents = json_api(st.lists(included_resource, max_size=2) | included_resource)


def check_order(order: Order) -> None:
    row = order.summary()
    assert row.id == str(order.id)
    assert row.search_text == row.search_text.lower()
    assert row.problems_count == len(order.problems)
    assert all(isinstance(p, str) and p for p in order.problems)
    preview = invoice_preview(order)
    assert preview.total == preview.subtotal + preview.vat_total + preview.shipping - preview.discount
    for amount in (preview.total, preview.subtotal, preview.vat_total, preview.amount_due):
        assert format_money(amount, order.currency)
    totals = line_totals(order)
    assert len(totals) == len(order.lines)
    for line, total in zip(order.lines, totals, strict=True):
        assert (total is None) == bool(line.unusable)
        assert format_money(total, order.currency) or total is None
    blocker = invoice_blocker(order)
    if blocker is None:
        check_invoiceable(order, preview)
    else:
        assert blocker.endswith(".")
    assert parse_order(order.raw, account=order.account) == order


def check_invoiceable(order: Order, preview: Any) -> None:
    """What invoice_blocker lets through is bounded, adds up, and goes out exactly."""
    assert order.unusable == () and order.total_known
    assert all(0 <= line.qty <= MAX_QUANTITY and fits(line.price) for line in order.lines)
    assert round_money(order.total, order.currency) in (preview.amount_due, preview.total)
    sent = contract_payload(order)["order"]  # raises if any amount would be rounded
    for line, product in zip(order.lines, sent["products"], strict=True):
        assert Decimal(repr(product["price"])) == line.price


def check_invoice(invoice: Invoice) -> None:
    row = invoice.summary()
    assert row.id == invoice.id
    assert row.problems_count == len(invoice.problems)
    for action in ("sent", "ready", "collected"):
        refusal = invoice.action_refusal(action)
        assert refusal is None or refusal.endswith(".")
    format_money(invoice.total, invoice.currency)
    # The cache keeps raw and re-reads it: it must give back the very same record.
    assert parse_invoice_document(invoice.raw, account=invoice.account, currency=invoice.currency) == invoice


def only_malformed(exc: MalformedResponseError) -> None:
    assert ENDPOINT in str(exc)


# --------------------------------------------------------------------------- Jumpseller


@FUZZ
@given(order_bodies)
@example(CI_COUNTEREXAMPLE)  # once failed CI: round_money raised InvalidOperation on a 30-digit line
@example({"order": {**CI_COUNTEREXAMPLE["order"], "products": [{"qty": 1_000_000, "price": 999999999999999}]}})
def test_parse_order_survives_anything(body: Any) -> None:
    try:
        order = parse_order(body, account="fuzz", endpoint=ENDPOINT)
    except MalformedResponseError as exc:
        only_malformed(exc)
        return
    check_order(order)


@FUZZ
@given(
    st.lists(st.one_of(st.builds(lambda o: {"order": o}, order_like), any_json_order), max_size=3)
    | any_json_order
)
def test_parse_orders_survives_anything(array: Any) -> None:
    try:
        orders = parse_orders(array, account="fuzz", endpoint=ENDPOINT)
    except MalformedResponseError as exc:
        only_malformed(exc)
        return
    assert isinstance(array, list) and len(orders) == len(array)
    for order in orders:
        check_order(order)


@FUZZ
@given(
    st.lists(st.one_of(st.builds(lambda d: {"document": d}, document_fields), document_fields), max_size=4)
    | any_json_order
)
def test_parse_documents_survives_anything(array: Any) -> None:
    try:
        documents = parse_documents(array, account="fuzz", endpoint=ENDPOINT)
    except MalformedResponseError as exc:
        only_malformed(exc)
        return
    assert all(d.document_type in (-1, 0, 1) for d in documents)


# --------------------------------------------------------------------------- Marketplacer


@FUZZ
@given(st.one_of(resource_like, any_json_api), st.lists(resource_like, max_size=4) | any_json_api)
def test_parse_invoice_survives_anything(resource: Any, included: Any) -> None:
    try:
        invoice = parse_invoice(resource, included, account="fuzz", currency="AUD", endpoint=ENDPOINT)
    except MalformedResponseError as exc:
        only_malformed(exc)
        return
    check_invoice(invoice)


@FUZZ
@given(single_documents)
def test_parse_invoice_document_survives_anything(doc: Any) -> None:
    try:
        invoice = parse_invoice_document(doc, account="fuzz", currency="AUD", endpoint=ENDPOINT)
    except MalformedResponseError as exc:
        only_malformed(exc)
        return
    check_invoice(invoice)


@FUZZ
@given(page_documents)
def test_parse_invoice_page_survives_anything(doc: Any) -> None:
    try:
        invoices, next_link = parse_invoice_page(doc, account="fuzz", currency="AUD", endpoint=ENDPOINT)
    except MalformedResponseError as exc:
        only_malformed(exc)
        return
    assert next_link is None or (isinstance(next_link, str) and next_link)
    for invoice in invoices:
        check_invoice(invoice)


@FUZZ
@given(shipment_documents)
def test_parse_shipments_survives_anything(doc: Any) -> None:
    try:
        shipments = parse_shipments(doc, endpoint=ENDPOINT)
    except MalformedResponseError as exc:
        only_malformed(exc)
        return
    assert all(isinstance(qty, int) for s in shipments for _, qty in s.items)


# --------------------------------------------------------------------------- values


@FUZZ
@given(any_json_order)
def test_value_readers_never_raise(value: Any) -> None:
    problems: list[str] = []
    amount = to_decimal(value, field="f", problems=problems)
    moment = to_datetime(value, field="f", problems=[])
    assert amount is None or amount.is_finite()
    assert moment is None or moment.tzinfo is not None
    assert len(problems) <= 1
    try:
        parse_datetime(value)
    except ValueError:
        pass


# --------------------------------------------------------------------------- money at the bounds

amounts = st.one_of(
    st.sampled_from(BOUNDARY_NUMBERS),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**16, min_value=-(10**16)).map(str),
)
quantities = st.one_of(
    st.sampled_from([0, 1, 2, MAX_QUANTITY, MAX_QUANTITY + 1, -1, 9988985783758721, 2**63, 3.0, "7"]),
    st.integers(min_value=-(10**20), max_value=10**20),
)


@FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {"qty": quantities, "price": amounts},
            optional={"tax": amounts, "discount": amounts, "taxes": st.just([{"rate": 19.0}])},
        ),
        min_size=1,
        max_size=3,
    ),
    st.fixed_dictionaries({"total": amounts}, optional={"tax": amounts, "shipping": amounts}),
)
@example([{"qty": 9988985783758721, "price": 11005116296860}], {"total": 306.63})
def test_any_amounts_either_add_up_and_go_out_exactly_or_are_refused(
    products: list[dict[str, Any]], fields: dict[str, Any]
) -> None:
    body = {"order": {"id": 7, "status_enum": "paid", "currency": "USD", **fields, "products": products}}
    order = parse_order(body, account="fuzz", endpoint=ENDPOINT)
    check_order(order)

