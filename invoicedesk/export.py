"""One export format for the list, shared by the window's Export CSV and ``invoicedesk export``.

Staff who export from the window and scripts that export from the command line get the same
columns with the same names, so a spreadsheet or an accounting import works with either.

CSV is for people and spreadsheets: a CSV file starts with a UTF-8 byte-order mark (without it a
spreadsheet shows "SepÃºlveda"), amounts have the currency's own digits (CLP 50364, USD 31.38),
and status and needs-action are words. JSON is for scripts: codes and exact decimal strings.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from invoicedesk.cache import Row
from invoicedesk.domain import INVOICE_STATUS_LABELS, ORDER_STATUS_LABELS, Source
from invoicedesk.money import MONEY_CONTEXT, minor_units
from invoicedesk.needs import label

_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

FIELDS = (
    "source",
    "account",
    "id",
    "date",
    "customer",
    "email",
    "total",
    "currency",
    "status",
    "delivery_type",
    "invoice_public_id",
    "invoice_url",
    "needs_action",
)


def row_dict(row: Row) -> dict[str, Any]:
    """A list row as plain data: totals as decimal strings (exact), dates in ISO 8601."""
    s = row.summary
    return {
        "source": s.source.value,
        "account": s.account,
        "id": s.id,
        "date": s.date.isoformat() if s.date else None,
        "customer": s.customer,
        "email": s.email,
        "total": None if s.total is None else str(s.total),
        "currency": s.currency,
        "status": s.status,
        "delivery_type": s.delivery_type,
        "invoice_public_id": s.invoice_public_id,
        "invoice_url": s.invoice_url,
        "needs_action": s.needs_action,
    }


def csv_dict(row: Row) -> dict[str, Any]:
    """A list row as a spreadsheet shows it: amounts in the currency's digits, words not codes."""
    s = row.summary
    d = row_dict(row)
    d["total"] = _amount(s.total, s.currency)
    # One language, as the list shows it (the store's own words may be Spanish or French).
    words = ORDER_STATUS_LABELS if s.source is Source.JUMPSELLER else INVOICE_STATUS_LABELS
    d["status"] = words.get(s.status, s.status_label or s.status)
    d["needs_action"] = label(s.needs_action) if s.needs_action else ""
    return d


def _amount(total: Decimal | None, currency: str) -> str:
    if total is None:
        return ""
    try:
        digits = minor_units(currency) if currency else 2
        return str(total.quantize(Decimal(1).scaleb(-digits), context=MONEY_CONTEXT))
    except (ArithmeticError, ValueError):
        return str(total)


def dicts(rows: Iterable[Row], fmt: str) -> list[dict[str, Any]]:
    """The rows as ``fmt`` shows them."""
    return [csv_dict(r) if fmt == "csv" else row_dict(r) for r in rows]


def render(rows: Iterable[dict[str, Any]], fmt: str) -> str:
    """CSV (with a header, CRLF as RFC 4180 says) or a JSON array."""
    if fmt == "json":
        text = json.dumps(list(rows), ensure_ascii=False, indent=1) + "\n"
        # json escapes C0 controls only; DEL, C1 and bidi controls would reach a terminal raw.
        # As \u escapes they are the same characters to any JSON reader: the data stays exact.
        return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FIELDS), lineterminator="\r\n")
    writer.writeheader()
    for d in rows:
        writer.writerow({k: "" if v is None else v for k, v in d.items()})
    return buf.getvalue()


def write(rows: Iterable[Row], fmt: str, path: Path) -> int:
    """Write atomically (a crash never leaves half a file); returns how many rows."""
    data = dicts(rows, fmt)
    tmp = path.with_name(path.name + ".tmp")
    try:
        # A CSV file gets the byte-order mark spreadsheets look for; JSON never has one.
        tmp.write_text(render(data, fmt), encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
        os.replace(tmp, path)
    finally:
        # After a failed write or rename (a folder in the way, a full disk) nothing is left
        # behind; after a good one the temp file is already gone.
        tmp.unlink(missing_ok=True)
    return len(data)
