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
