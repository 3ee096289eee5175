"""Values as the services write them, read into ours: the field reader and its problems.

No records here, and nothing above it in the package: :mod:`.records`, :mod:`.jumpseller` and
:mod:`.marketplacer` build on it. It holds
- the status, delivery and document-type tables: the services' words (translated by Jumpseller
  into the store's language) mapped to one canonical value each, and the staff labels of those
  values;
- date reading (:func:`parse_datetime`, :func:`to_datetime`);
- ``_Reader``, which reads one record's fields and turns every unexpected value into a problem
  sentence (and every unusable amount or quantity into a path in ``unusable``), so a record is
  flagged instead of a sync stopping at the first odd value;
- the :class:`~invoicedesk.errors.MalformedResponseError` the parsers raise when a payload is
  not even shaped like what the endpoint promises.

Names starting with ``_`` are shared by the modules of this package only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from invoicedesk.errors import MalformedResponseError
from invoicedesk.money import MAX_QUANTITY, show_value, to_decimal

ZERO = Decimal(0)
INVOICE_DOCUMENT = 1
CREDIT_NOTE_DOCUMENT = 0

# ----------------------------------------------------------------------------- document types

_DOCUMENT_WORDS: dict[str, int] = {
    "invoice": INVOICE_DOCUMENT,
    "factura": INVOICE_DOCUMENT,
    "fatura": INVOICE_DOCUMENT,
    "facture": INVOICE_DOCUMENT,
    "boleta": INVOICE_DOCUMENT,
    "credit note": CREDIT_NOTE_DOCUMENT,
    "credit_note": CREDIT_NOTE_DOCUMENT,
    "creditnote": CREDIT_NOTE_DOCUMENT,
    "nota de credito": CREDIT_NOTE_DOCUMENT,
    "nota de crédito": CREDIT_NOTE_DOCUMENT,
    "avoir": CREDIT_NOTE_DOCUMENT,
}


def document_kind(value: object) -> int:
    """``document_type`` as Jumpseller's documentation writes it: ``1``, ``"1"``, ``"1 - invoice"``,
    ``"invoice"`` (and ``0`` likewise for credit notes); -1 for anything else. Never raises."""
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value if value in (INVOICE_DOCUMENT, CREDIT_NOTE_DOCUMENT) else -1
    if isinstance(value, float):
        return int(value) if value in (0.0, 1.0) else -1
    if not isinstance(value, str):
        return -1
    text = " ".join(value.strip().lower().split())
    if not text:
        return -1
    number, sep, word = text.partition("-")
    number = number.strip()
    word = word.strip()
    if number in ("0", "1"):
        kind = int(number)
        # "1 - invoice" must not contradict itself: "1 - credit note" is not readable.
        if sep and word and _DOCUMENT_WORDS.get(word, kind) != kind:
            return -1
        return kind
    return _DOCUMENT_WORDS.get(text, -1)


# ----------------------------------------------------------------------------- labels

ORDER_STATUS_LABELS: dict[str, str] = {
    "pending_payment": "Pending payment",
    "paid": "Paid",
    "canceled": "Cancelled",
    "abandoned": "Abandoned",
    "created": "Created",
    "unknown": "Unknown",
}

SHIPMENT_STATUS_LABELS: dict[str, str] = {
    "unfulfilled": "Unfulfilled",
    "requested": "Requested",
    "in_transit": "In transit",
    "delivered": "Delivered",
    "failed": "Failed",
    "pickup_available": "Pickup available",
    "unknown": "Unknown",
}

INVOICE_STATUS_LABELS: dict[str, str] = {
    "paid": "Paid",
    "sent": "Sent",
    "partially_sent": "Partially sent",
    "ready": "Ready",
    "collected": "Collected",
    "refunded": "Refunded",
    "cancelled": "Cancelled",
    "unknown": "Unknown",
}

DELIVERY_LABELS: dict[str, str] = {
    "buy_online": "Buy Online",
    "click_and_collect": "Click and Collect",
    "unknown": "unknown delivery type",
}


# ----------------------------------------------------------------------------- dates and statuses

_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT|Z)$", re.IGNORECASE)
_PLAUSIBLE_YEARS = range(1900, 2200)


def parse_datetime(value: object) -> datetime | None:
    """An aware datetime from the formats the services use; ``None`` when absent.

    Accepts ``"2023-02-10 13:56:35 UTC"`` (Jumpseller), ISO 8601 with ``Z`` or an offset
    (``"2022-11-15T15:10:35+11:00"``, fractions allowed), and a bare date ``"2021-05-03"``
    (midnight UTC). A time without a zone is taken as UTC, which is what Jumpseller documents.
    Raises ``ValueError`` for anything else, including dates that cannot exist
    (``"2020-13-11T14:49:18.000+11:00"``, from Marketplacer's own docs).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a date text")
    text = value.strip()
    if not text:
        return None
    match = _UTC_SUFFIX.search(text)
    if match and match.start() > 0:
        text = text[: match.start()] + "+00:00"
    if len(text) > 64:
        raise ValueError("too long for a date")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year not in _PLAUSIBLE_YEARS:
        raise ValueError("year out of range")
    return moment


def to_datetime(value: object, *, field: str = "date", problems: list[str] | None = None) -> datetime | None:
    """Tolerant :func:`parse_datetime`: ``None`` plus a problem sentence for a bad value."""
    try:
        return parse_datetime(value)
    except (ValueError, OverflowError):
        if problems is not None:
            problems.append(f"{field}: {show_value(value)} is not a valid date; left empty.")
        return None


def _norm(text: str) -> str:
    """Case-, accent- and spacing-insensitive key: "Pendiente  de_Pago" → "pendiente de pago"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.split(r"[\s_\-]+", plain.casefold().strip())).strip()


def _table(entries: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, names in entries.items():
        out[_norm(canonical)] = canonical
        for name in names:
            out[_norm(name)] = canonical
    return out


# Jumpseller translates status texts into the store's language; *_enum fields are preferred.
_ORDER_STATUSES = _table(
    {
        "paid": (
            "Paid", "Pagado", "Pagada", "Pago", "Paga", "Payé", "Payée", "Bezahlt", "Pagato",
        ),
        "pending_payment": (
            "Pending Payment", "Pending", "Pago Pendiente", "Pendiente de pago", "Pendiente",
            "Pagamento Pendente", "Aguardando Pagamento", "Pendente", "Pendente de pagamento",
            "En attente de paiement", "En attente", "Paiement en attente",
        ),
        "canceled": (
            "Canceled", "Cancelled", "Cancelado", "Cancelada", "Anulado", "Anulada", "Annulé",
            "Annulée", "Storniert", "Annullato",
        ),
        "abandoned": (
            "Abandoned", "Abandonado", "Abandonada", "Abandonné", "Abandonnée", "Abgebrochen",
        ),
        "created": ("Created", "Creado", "Creada", "Criado", "Criada", "New", "Nuevo", "Novo"),
    }
)  # fmt: skip

_SHIPMENT_STATUSES = _table(
    {
        "unfulfilled": (
            "Unfulfilled", "Not Processed", "Not fulfilled", "No procesado", "Sin procesar",
            "No enviado", "No despachado", "Não processado", "Não enviado", "Pendente de envio",
        ),
        "requested": ("Requested", "Solicitado", "Solicitada", "Pedido"),
        "in_transit": (
            "In Transit", "Shipped", "En tránsito", "En camino", "Enviado", "Despachado",
            "Em trânsito", "Em transporte",
        ),
        "delivered": ("Delivered", "Entregado", "Entregada", "Entregue"),
        "failed": ("Failed", "Fallido", "Fallida", "Falló", "Falhou", "Falha", "Com falha"),
        "pickup_available": (
            "Pickup Available", "Available for pickup", "Ready for pickup", "Disponible para retiro",
            "Listo para retiro", "Listo para retirar", "Disponível para retirada",
            "Disponível para retirar", "Pronto para retirada",
        ),
    }
)  # fmt: skip

_INVOICE_STATUSES = _table(
    {
        "paid": (),
        "sent": ("Shipped",),
        "partially_sent": ("Partially Sent", "Partially Shipped"),
        "ready": ("Ready for collection", "Ready for pickup"),
        "collected": ("Picked up",),
        "refunded": (),
        "cancelled": ("Canceled",),
    }
)

_DELIVERY_TYPES = _table(
    {
        "buy_online": ("Buy Online", "Delivery", "Online"),
        "click_and_collect": ("Click and Collect", "Click & Collect", "Pickup", "Collect"),
    }
)


def _lookup(table: dict[str, str], value: object) -> str | None:
    if not isinstance(value, str):
        return None
    # Statuses and delivery types repeat on every record of a page: each spelling is
    # normalised once (short words only; a long one is a data error, normalised each time).
    return table.get(_norm_cached(value) if len(value) <= 64 else _norm(value))


_norm_cached = lru_cache(maxsize=1024)(_norm)


def order_status(value: object) -> str:
    """Canonical order status for a status text or enum in any supported language, else "unknown"."""
    return _lookup(_ORDER_STATUSES, value) or "unknown"


def shipment_status(value: object) -> str:
    return _lookup(_SHIPMENT_STATUSES, value) or "unknown"


def invoice_status(value: object) -> str:
    return _lookup(_INVOICE_STATUSES, value) or "unknown"


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Reads fields of one record and collects a problem sentence per unexpected value."""

    __slots__ = ("problems", "unusable")

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.unusable: list[str] = []  # paths of amounts/quantities sent but not usable

    def note(self, sentence: str) -> None:
        self.problems.append(sentence)

    def obj(self, data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return value
        self.note(f"{path or key}: expected an object, got {show_value(value)}; ignored.")
        return {}

    def arr(self, data: Mapping[str, Any], key: str, path: str = "") -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.note(f"{path or key}: expected a list, got {show_value(value)}; ignored.")
        return []

    def text(self, data: Mapping[str, Any], key: str, path: str = "") -> str:
        value = data.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return str(value)
        self.note(f"{path or key}: expected text, got {show_value(value)}; left empty.")
        return ""

    def ident(self, data: Mapping[str, Any], key: str, path: str = "") -> str:
        """An id that may arrive as a number or a string; always kept as a string."""
        value = data.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, int | str | float):
            self.note(f"{path or key}: {show_value(value)} is not an id; left empty.")
            return ""
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else str(value)
        return str(value).strip()

    def money(
        self, data: Mapping[str, Any], key: str, path: str = "", *, required: bool = False
    ) -> Decimal | None:
        """The amount, or ``None`` when missing (noted if ``required``) or unreadable (noted,
        and its path kept in ``unusable``: beyond the money bounds it is not a value at all)."""
        where = path or key
        value = data.get(key)
        noted = len(self.problems)
        amount = to_decimal(value, field=where, problems=self.problems)
        if len(self.problems) > noted:
            self.unusable.append(where)
        if amount is None and value is None and required:
            self.note(f"{where} is missing; counted as 0.")
        return amount

    def amount(self, data: Mapping[str, Any], key: str, path: str = "") -> Decimal:
        got = self.money(data, key, path)
        return ZERO if got is None else got

    def integer(self, data: Mapping[str, Any], key: str, path: str = "", default: int = 0) -> int:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", value):
            return int(value)
        self.note(f"{path or key}: {show_value(value)} is not a whole number; counted as {default}.")
        return default

    def quantity(self, data: Mapping[str, Any], key: str, path: str = "") -> int:
        """Units on a line: a whole number from 0 to ``MAX_QUANTITY`` (0 when absent).

        Anything else is noted and its path kept in ``unusable``; the 0 returned then is a
        placeholder, not a count (a line of 9988985783758721 units is a data error, and
        clamping it to some maximum would make a wrong invoice look right).
        """
        where = path or key
        value = data.get(key)
        if value is None:
            return 0
        count: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            count = value
        elif isinstance(value, float) and value.is_integer():
            count = int(value)
        elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,30}\s*", value):
            count = int(value)
        if count is None:
            self.note(f"{where}: {show_value(value)} is not a whole number of units; quantity unknown.")
        elif not 0 <= count <= MAX_QUANTITY:
            self.note(
                f"{where}: {show_value(value)} is not a plausible quantity (0 to {MAX_QUANTITY:,} units); "
                "quantity unknown."
            )
        else:
            return count
        self.unusable.append(where)
        return 0

    def when(self, data: Mapping[str, Any], key: str, path: str = "") -> datetime | None:
        return to_datetime(data.get(key), field=path or key, problems=self.problems)

    def flag(self, data: Mapping[str, Any], key: str, path: str = "", default: bool = False) -> bool:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.note(f"{path or key}: {show_value(value)} is not true or false; taken as {default}.")
        return default


def _malformed(what: str, *, service: str, account: str, endpoint: str) -> MalformedResponseError:
    return MalformedResponseError(what, service=service, account=account, endpoint=endpoint)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"
