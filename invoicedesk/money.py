"""Money as ``Decimal``: reading amounts the services send, rounding and showing them.

Jumpseller sends JSON numbers (floats), Marketplacer sends strings ("100.0", "10", even
"100."). Both become ``Decimal`` here, floats through ``str`` so ``0.1`` stays ``0.1`` and
never turns into ``0.1000000000000000055511151231257827``. Nothing here computes in float.

A value that is not an amount at all (``true``, a list, "ten dollars") is never fatal: the
reader gets ``None`` and, when it passes a ``problems`` list, one sentence naming the field,
so the record shows up with a warning instead of stopping a whole sync.

Bounds, and why:

- **Amounts: at most 15 digits written out** (:data:`MAX_DIGITS`): integer part and decimals
  together, trailing zeros of the decimals not counted. So below 10**15 and in steps of at
  least 10**-15. Fifteen is what a binary float (a JSON number) holds exactly: any such amount
  survives ``float(str(d))`` and back unchanged, so it can be sent to the invoicing service
  as a JSON number without being rounded. Longer amounts (``9988985783758721``, or float
  noise like ``0.30000000000000004``) cannot be told apart from a rounded value: they are a
  problem on the record and read as unknown, never clamped into something that looks right.
- **Quantities: whole numbers from 0 to** :data:`MAX_QUANTITY` **(1,000,000) units per line.**
  A shop line with a million units is already wholesale; anything larger is a data error,
  and the bound keeps a line amount (price x quantity) below 10**21.
- **One decimal context**, :data:`MONEY_CONTEXT`, passed explicitly to every operation that
  can see large values. ``decimal``'s ambient context is per thread (the GUI thread, the
  sync thread and executors each have their own, all at 28 digits unless someone changed
  them), so nothing here reads it. With the bounds above every sum and product of parsed
  amounts fits exactly in its 50 digits (21 integer + 15 decimal digits per line amount,
  with room for ten thousand lines); only divisions (derived VAT rates, VAT inside a
  tax-inclusive price) are rounded, at 50 digits, long before they are rounded to cents.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import lru_cache, reduce

from babel import Locale
from babel.numbers import format_currency, get_currency_precision

from invoicedesk.errors import InvoiceDeskError

__all__ = [
    "MAX_DIGITS",
    "MAX_QUANTITY",
    "MONEY_CONTEXT",
    "UNSHOWN",
    "AmountNotExactError",
    "BadAmountError",
    "add",
    "digits_written",
    "div",
    "fits",
    "format_money",
    "minor_units",
    "mul",
    "parse_amount",
    "quantum",
    "round_money",
    "show_value",
    "sub",
    "to_decimal",
    "total",
]

MAX_DIGITS = 15
"""Most digits an amount may have when written out (see the module notes)."""

MAX_QUANTITY = 1_000_000
"""Most units one order or invoice line may carry (see the module notes)."""

MONEY_CONTEXT = Context(
    prec=50,
    rounding=ROUND_HALF_UP,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""The one context for money arithmetic, in every thread (see the module notes)."""

UNSHOWN = "—"
"""What :func:`format_money` shows for an amount it cannot represent."""

_JSON_KIND = {"list": "list", "dict": "object", "tuple": "list"}


class BadAmountError(ValueError):
    """A value that cannot be read as an amount of money."""


class AmountNotExactError(InvoiceDeskError):
    """An amount that cannot leave InvoiceDesk exactly (it would be rounded on the way)."""


def show_value(value: object, limit: int = 60) -> str:
    """A short printable form of a value for a problem sentence (never the whole payload)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def digits_written(amount: Decimal) -> int:
    """How many digits ``amount`` takes written out in full: ``12.50`` → 3, ``1E+20`` → 21,
    ``0.001`` → 3 (integer part plus decimals, trailing zeros of the decimals dropped).

    Worked out from the digits themselves, with no context, so any finite Decimal works.
    """
    _sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int), "only finite amounts have digits"
    significant = len(digits)
    while significant and digits[significant - 1] == 0:
        significant -= 1
        exponent += 1
    if not significant:
        return 1  # zero
    integer_digits = max(exponent + significant, 0)
    decimals = max(-exponent, 0)
    return integer_digits + decimals


def fits(amount: Decimal) -> bool:
    """``amount`` is finite and within :data:`MAX_DIGITS` (so it is exact as a float too)."""
    return amount.is_finite() and digits_written(amount) <= MAX_DIGITS


def parse_amount(value: object) -> Decimal | None:
    """The amount in ``value``, ``None`` when absent (``None`` or a blank string).

    Raises :class:`BadAmountError` for anything that is not an amount: booleans (JSON
    ``true`` is not 1 dollar), containers, non-numeric text, NaN and infinities, and numbers
    of more than :data:`MAX_DIGITS` digits.
    """
    if value is None:
        return None
    kind = type(value)
    if kind is float or kind is int or (kind is str and len(value) <= 40):  # type: ignore[arg-type]
        # A page repeats the same few amounts ("0.0", prices, tax rates): each read once.
        return _parse_plain(kind, value)
    return _parse_amount(value)


@lru_cache(maxsize=8192)
def _parse_plain(_kind: type, value: object) -> Decimal | None:
    """:func:`_parse_amount`, cached by type and value (``1``, ``1.0`` and ``"1"`` apart).
    A refused value raises each time: exceptions are never cached."""
    return _parse_amount(value)


def _parse_amount(value: object) -> Decimal | None:
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
    if not fits(amount):
        raise BadAmountError(f"more than {MAX_DIGITS} digits, so not a plausible amount")
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


# -- arithmetic in MONEY_CONTEXT -----------------------------------------------------------------


def add(a: Decimal | int, b: Decimal | int) -> Decimal:
    return MONEY_CONTEXT.add(a, b)


def sub(a: Decimal | int, b: Decimal | int) -> Decimal:
    return MONEY_CONTEXT.subtract(a, b)


def mul(a: Decimal | int, b: Decimal | int) -> Decimal:
    return MONEY_CONTEXT.multiply(a, b)


def div(a: Decimal | int, b: Decimal | int) -> Decimal:
    return MONEY_CONTEXT.divide(a, b)


def total(amounts: Iterable[Decimal]) -> Decimal:
    """The sum of ``amounts`` (0 when there are none)."""
    return reduce(MONEY_CONTEXT.add, amounts, Decimal(0))


# -- currencies, rounding, showing ---------------------------------------------------------------


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
    """Round to the currency's minor unit, half up (the way a till and a tax office round).

    In :data:`MONEY_CONTEXT` whatever the calling thread's context is. Raises
    ``decimal.InvalidOperation`` only for an amount no parser lets through (NaN, infinity,
    or more than 50 digits once rounded).
    """
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)


@lru_cache(maxsize=32)
def _babel_locale(name: str) -> Locale:
    """Babel parses a locale name on every call it is given one (a third of a list cell's
    formatting): parsed once per name. An unknown name raises here, as Babel would."""
    return Locale.parse(name)


def format_money(amount: Decimal | None, currency: str, locale: str = "en_US") -> str:
    """``amount`` as staff read it: "$1,234.50", "CLP 12.990" style, per Babel's locale data.

    Rounded to the currency's own minor unit first (CLP shows no decimals). An empty currency
    shows the bare number; ``None`` shows an empty string. Never raises, in any thread: this
    runs while a window paints, so an amount it cannot represent shows :data:`UNSHOWN`.
    """
    if amount is None:
        return ""
    code = (currency or "").strip().upper()
    try:
        rounded = round_money(amount, code)
    except Exception:  # not a Decimal, or more digits than MONEY_CONTEXT holds
        return UNSHOWN
    if not rounded.is_finite():  # a quiet NaN goes through quantize untouched
        return UNSHOWN
    if not code:
        return f"{rounded:,}"
    try:
        # Babel rounds again in the thread's own context (28 digits by default, or whatever
        # this thread was given): hand it ours for the call.
        with localcontext(MONEY_CONTEXT):
            return str(format_currency(rounded, code, locale=_babel_locale(locale), currency_digits=True))
    except Exception:  # unknown locale, or anything Babel trips on: never fail to show a number
        return f"{code} {rounded:,}"
