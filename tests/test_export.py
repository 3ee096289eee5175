"""The shared export format: a failed write leaves neither half a file nor a temp file behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from invoicedesk import export
from invoicedesk.cache import Cache
from invoicedesk.domain import parse_order
from tests.fixtures import FIXTURES


def _rows(tmp_path: Path) -> list:
    body = json.loads((FIXTURES / "jumpseller" / "order-1026-docs-example.json").read_text())
    cache = Cache.open(tmp_path / "data")
    try:
        cache.upsert([parse_order(body, account="demo-store")])
        return list(cache.iter_all())
    finally:
        cache.close()


def test_export_writes_the_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    assert export.write(_rows(tmp_path), "json", target) == 1
    assert json.loads(target.read_text(encoding="utf-8"))[0]["id"] == "1026"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out.json"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_failed_export_leaves_no_temp_file(tmp_path: Path, fmt: str) -> None:
    """Onto a folder: the temp file was written, the rename failed, and the temp file stayed."""
    rows = _rows(tmp_path)
    folder = tmp_path / "reports"
    folder.mkdir()
    with pytest.raises(OSError):
        export.write(rows, fmt, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "reports"]
    with pytest.raises(OSError):
        export.write(rows, fmt, tmp_path / "gone" / "x.csv")
    assert not (tmp_path / "gone").exists()


def test_csv_opens_right_in_a_spreadsheet(tmp_path: Path) -> None:
    """A byte-order mark, amounts in the currency's own digits, status and needs in words;
    JSON keeps codes and exact decimal strings for scripts."""
    import csv
    from dataclasses import replace
    from decimal import Decimal

    from invoicedesk.domain import Customer

    body = json.loads((FIXTURES / "jumpseller" / "order-1026-docs-example.json").read_text())
    order = parse_order(body, account="tienda")
    clp = replace(order, currency="CLP", total=Decimal("50364.0"), status="paid",
                  customer=replace(order.customer, fullname="Fernanda Sepúlveda"))
    assert isinstance(clp.customer, Customer)
    cache = Cache.open(tmp_path / "data")
    try:
        cache.upsert([clp], documents_known=True)
        rows = list(cache.iter_all())
    finally:
        cache.close()
    target = tmp_path / "out.csv"
    export.write(rows, "csv", target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    (line,) = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert line["customer"] == "Fernanda Sepúlveda"
    assert line["total"] == "50364"  # CLP has no minor unit: never "50364.0"
    # Words, not codes (the total set above no longer matches its lines: the rules say so).
    assert line["status"] == "Paid" and line["needs_action"] == "Amounts don't add up"
    as_json = json.loads(export.render(export.dicts(rows, "json"), "json"))[0]
    assert as_json["status"] == "paid" and as_json["needs_action"] == "check_amounts"
