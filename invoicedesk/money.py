"""Money as ``Decimal``: reading amounts the services send, rounding and showing them.

Jumpseller sends JSON numbers (floats), Marketplacer sends strings ("100.0", "10", even
"100."). Both become ``Decimal`` here, floats through ``str`` so ``0.1`` stays ``0.1`` and
never turns into ``0.1000000000000000055511151231257827``. Nothing here computes in float.

A value that is not an amount at all (``true``, a list, "ten dollars") is never fatal: the
reader gets ``None`` and, when it passes a ``problems`` list, one sentence naming the field,
so the record shows up with a warning instead of stopping a whole sync.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

__all__ = [
    "MAX_DIGITS",
    "BadAmountError",
    "format_money",
    "minor_units",
    "parse_amount",
    "quantum",
    "round_money",
    "show_value",
    "to_decimal",
]

# An amount whose integer part has more digits than this is not a price (and would make
# ``quantize`` overflow the default 28-digit context): it is treated as garbage.
MAX_DIGITS = 18


_JSON_KIND = {"list": "list", "dict": "object", "tuple": "list"}


class BadAmountError(ValueError):
    """A value that cannot be read as an amount of money."""


def show_value(value: object, limit: int = 60) -> str:
    """A short printable form of a value for a problem sentence (never the whole payload)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_amount(value: object) -> Decimal | None:
    """The amount in ``value``, ``None`` when absent (``None`` or a blank string).

    Raises :class:`BadAmountError` for anything that is not an amount: booleans (JSON
    ``true`` is not 1 dollar), containers, non-numeric text, NaN and infinities.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadAmountError("true/false value")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        # Through str: the shortest repr round-trips, so 0.1 becomes Decimal("0.1").
        amount = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not text:
            return None
        try:
            amount = Decimal(text)  # accepts "100.", "10", "1e2", "-5.50"
        except InvalidOperation:
            raise BadAmountError("text that is not a number") from None
    else:
        raise BadAmountError(f"{_JSON_KIND.get(type(value).__name__, type(value).__name__)} value")
    if not amount.is_finite():
        raise BadAmountError("not a finite number")
    exponent = amount.as_tuple().exponent
    if amount and (amount.adjusted() >= MAX_DIGITS or (isinstance(exponent, int) and exponent < -MAX_DIGITS)):
        raise BadAmountError("implausibly large or precise")
    return amount


def to_decimal(value: object, *, field: str = "amount", problems: list[str] | None = None) -> Decimal | None:
    """Tolerant reader: the amount, or ``None`` when absent or unreadable.

    Unreadable values append one sentence naming ``field`` to ``problems`` (when given);
    the raw payload beside the record still holds the value exactly as sent.
    """
    try:
        return parse_amount(value)
    except BadAmountError as exc:
        if problems is not None:
            problems.append(f"{field}: {show_value(value)} is not an amount ({exc}); kept as sent.")
        return None


@lru_cache(maxsize=256)
def minor_units(currency: str) -> int:
    """Decimal places of ``currency`` per ISO 4217 (CLP 0, USD 2, BHD 3); unknown → 2."""
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        return 2
    try:
        return int(get_currency_precision(code))
    except Exception:  # Babel raises different errors across versions for unknown codes
        return 2


def quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal exponent (``Decimal("0.01")`` for USD)."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up (the way a till and a tax office round)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | None, currency: str, locale: str = "en_US") -> str:
    """``amount`` as staff read it: "$1,234.50", "CLP 12.990" style, per Babel's locale data.

    Rounded to the currency's own minor unit first (CLP shows no decimals). An empty currency
    shows the bare number; ``None`` shows an empty string.
    """
    if amount is None:
        return ""
    code = (currency or "").strip().upper()
    if not code:
        return f"{round_money(amount, code):,}"
    rounded = round_money(amount, code)
    try:
        return str(format_currency(rounded, code, locale=locale, currency_digits=True))
    except Exception:  # unknown locale: never fail to show a number
        return f"{code} {rounded:,}"
