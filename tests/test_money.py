"""Money at the boundary: amounts of at most 15 digits, one decimal context in every thread,
and formatting that never raises while a window paints."""

from __future__ import annotations

import decimal
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicedesk.money import (
    MAX_DIGITS,
    UNSHOWN,
    BadAmountError,
    digits_written,
    format_money,
    parse_amount,
    round_money,
    to_decimal,
)

D = Decimal


def in_fresh_thread(fn: Callable[[], Any], *, prec: int) -> Any:
    """Run ``fn`` in a new thread whose own decimal context has ``prec`` digits, the way a
    worker thread's context can differ from the one a function was written against."""
    box: dict[str, Any] = {}

    def run() -> None:
        decimal.getcontext().prec = prec
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test thread
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# --------------------------------------------------------------------------- the 15-digit bound


@pytest.mark.parametrize(
    "value",
    [
        123456789012345,  # 15 integer digits
        "1234567890123.45",
        0.123456789012345,  # 15 decimals, as a JSON float
        "0.000000000000001",
        "100.000000000000000000",  # trailing zeros are not digits of the amount
        306.63,
    ],
)
def test_amounts_of_up_to_15_digits_are_read_exactly(value: object) -> None:
    problems: list[str] = []
    amount = to_decimal(value, field="total", problems=problems)
    assert problems == []
    assert amount is not None and digits_written(amount) <= MAX_DIGITS
    assert amount == Decimal(str(value))
    assert Decimal(str(float(amount))) == amount  # so it can leave as a JSON number exactly


@pytest.mark.parametrize(
    "value",
    [
        9988985783758721,  # the quantity of the CI counterexample, read as an amount
        "1234567890123456",
        "12345678901234.56",
        0.30000000000000004,  # float noise: 17 digits that cannot be told from a real amount
        "0.0000000000000001",
        1e20,
        "1E+15",
    ],
)
def test_longer_amounts_are_a_problem_not_a_value(value: object) -> None:
    problems: list[str] = []
    assert to_decimal(value, field="products[0].price", problems=problems) is None
    assert len(problems) == 1
    assert problems[0].startswith("products[0].price:")
    assert "more than 15 digits" in problems[0]
    with pytest.raises(BadAmountError):
        parse_amount(value)


@pytest.mark.parametrize(
    ("text", "digits"),
    [("12.50", 3), ("1E+20", 21), ("0.001", 3), ("0", 1), ("0.000", 1), ("-5.50", 2), ("1E-15", 15)],
)
def test_digits_written_counts_integer_part_and_decimals(text: str, digits: int) -> None:
    assert digits_written(D(text)) == digits


# --------------------------------------------------------------------------- one context


def test_rounding_does_not_depend_on_the_threads_decimal_context() -> None:
    """A worker thread whose context holds 6 digits still rounds a 10-digit amount."""
    assert in_fresh_thread(lambda: round_money(D("12345678.905"), "USD"), prec=6) == D("12345678.91")


def test_formatting_does_not_depend_on_the_threads_decimal_context() -> None:
    """Babel rounds in the thread's context; ours is handed to it, so a small one is harmless."""
    shown = in_fresh_thread(lambda: format_money(D("12345678.905"), "USD"), prec=6)
    assert shown == "$12,345,678.91"


# --------------------------------------------------------------------------- never raise


@pytest.mark.parametrize(
    "amount",
    [D("1E+60"), D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"), D("9" * 80)],
)
def test_an_amount_that_cannot_be_shown_shows_a_dash(amount: Decimal) -> None:
    assert format_money(amount, "USD") == UNSHOWN
    assert format_money(amount, "") == UNSHOWN


def test_the_ci_counterexample_line_amount_is_shown_not_raised() -> None:
    line_amount = D(9988985783758721) * D(11005116296860)  # 30 digits: past the default context
    assert format_money(line_amount, "USD").startswith("$109,929,950,237,945,")


@given(
    st.decimals(allow_nan=True, allow_infinity=True) | st.none(),
    st.sampled_from(["USD", "CLP", "BHD", "", "usd", "XYZ", "??", "CLF"]) | st.text(max_size=4),
    st.sampled_from(["en_US", "es_CL", "de_DE", "xx_YY", ""]),
)
def test_format_money_never_raises(amount: Decimal | None, currency: str, locale: str) -> None:
    shown = format_money(amount, currency, locale)
    assert isinstance(shown, str)
    assert (shown == "") == (amount is None)
