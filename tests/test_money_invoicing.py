"""Amounts leave for the invoicing service exactly, or not at all."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest

from invoicedesk.clients.invoicing import InvoicingClient, contract_payload
from invoicedesk.domain import Order, parse_order
from invoicedesk.money import AmountNotExactError
from invoicedesk.transport import RetryConfig, make_http_client

D = Decimal


def _order(price: object, **fields: Any) -> Order:
    body = {
        "id": 9001,
        "status_enum": "paid",
        "currency": "USD",
        "total": 1,
        "products": [{"sku": "TEE", "name": "Tee", "qty": 1, "price": price}],
        **fields,
    }
    return parse_order(json.loads(json.dumps({"order": body})), account="demo-store")


def _sent(order: Order) -> dict[str, Any]:
    """The contract body as the service reads it, numbers kept as decimals."""
    text = json.dumps(contract_payload(order), ensure_ascii=False, separators=(",", ":"))
    return json.loads(text, parse_float=Decimal)["order"]


@pytest.mark.parametrize("price", [123456789012.345, 0.123456789012345, 999999999999999, 306.63, "100."])
def test_every_amount_the_parser_accepts_goes_out_digit_for_digit(price: object) -> None:
    order = _order(price, total=price, tax=0.01, shipping=12345678901234.5)
    assert order.problems == ()
    sent = _sent(order)
    assert D(str(sent["products"][0]["price"])) == order.lines[0].price
    assert D(str(sent["total"])) == order.total
    assert D(str(sent["shipping"])) == D("12345678901234.5")


@pytest.mark.parametrize(
    "price",
    [
        D("1234567890123456.7"),  # 17 digits: a float would send ...456.8
        D("0.30000000000000004440892098500626"),
        D("12345678901234567"),  # whole, but past 2**53: a reader holding doubles rounds it
        D("NaN"),
    ],
)
def test_an_amount_that_would_be_rounded_is_refused_not_sent(price: Decimal) -> None:
    """Such amounts never come out of the parsers; a record built by hand must not sneak one out."""
    order = _order(10.0)
    order = replace(order, lines=(replace(order.lines[0], price=price),))
    with pytest.raises(AmountNotExactError, match="nothing was sent"):
        contract_payload(order)


def test_a_sixteen_digit_amount_that_round_trips_goes_out_exactly() -> None:
    """The rule is 'comes back unchanged', and 0.1234567890123456 does."""
    order = _order(10.0)
    order = replace(order, lines=(replace(order.lines[0], price=D("0.1234567890123456")),))
    assert D(str(_sent(order)["products"][0]["price"])) == D("0.1234567890123456")


def test_an_unsendable_amount_is_refused_before_any_request(sandbox, arun) -> None:
    sb = sandbox
    store = sb.stores[0]
    order = _order(10.0)
    order = replace(order, lines=(replace(order.lines[0], price=D("1234567890123456.7")),))

    async def run() -> None:
        async with make_http_client(timeout=httpx.Timeout(5.0, connect=2.0)) as http:
            client = InvoicingClient(
                http,
                account=store.login,
                endpoint_url=sb.invoicing_url,
                store_code=store.login,
                hooks_token=store.hooks_token,
                retry=RetryConfig(base_delay=0.01, max_delay=0.05, total_time=5.0),
            )
            await client.create_invoice(order)

    with pytest.raises(AmountNotExactError):
        arun(run())
    assert sb.invoices_created() == []
