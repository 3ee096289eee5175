"""The cache: offline review, SQL-side filtering/sorting/paging, and nothing lost on re-sync."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from invoicedesk.cache import Cache, CacheError, Query
from invoicedesk.domain import Document, parse_invoice, parse_order

SHOP = "shop"


def order(i: int, *, status: str = "paid", email: str | None = None, total: float = 10.0,
          sku: str = "SKU-1", company: str = "") -> object:
    body = {
        "id": i,
        "created_at": f"2026-11-{1 + i % 28:02d} 10:00:00 UTC",
        "status": status.title(),
        "status_enum": status,
        "currency": "USD",
        "total": total,
        "customer": {"id": str(i), "email": email or f"c{i}@example.com", "fullname": f"Customer {i}"},
        "billing_address": {"name": "Ann", "surname": f"Lee{i}", "taxid": "", "country_code": "US"},
        "billing_information": {"company_name": company},
        "products": [{"id": 1, "sku": sku, "name": "Thing", "qty": 1, "price": total, "type": "physical"}],
    }
    return parse_order({"order": body}, account=SHOP)


def invoice(i: int, status: str = "paid", delivery: str = "buy_online") -> object:
    res = {"type": "invoices", "id": str(i), "attributes": {
        "paid_at": "2026-11-10T10:00:00+11:00", "updated_at": "2026-11-10T10:00:00+11:00",
        "status": status, "delivery_type": delivery, "total": "100.", "postage_tracking": "A1,B2"}}
    return parse_invoice(res, [], account="seller", currency="AUD")


@pytest.fixture
def cache(tmp_path: Path):
    c = Cache.open(tmp_path)
    yield c
    c.close()


def test_schema_is_versioned_in_wal_mode_with_foreign_keys(cache: Cache) -> None:
    with sqlite3.connect(cache.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert cache.integrity_check() == "ok"


def test_reopening_keeps_everything_and_does_not_migrate_twice(tmp_path: Path) -> None:
    c = Cache.open(tmp_path)
    c.upsert([order(1), invoice(2)])
    c.close()
    again = Cache.open(tmp_path)
    assert again.count() == 2
    again.close()


def test_a_newer_schema_or_a_file_that_is_not_ours_gives_a_clear_error(tmp_path: Path) -> None:
    c = Cache.open(tmp_path)
    c.close()
    with sqlite3.connect(tmp_path / "cache.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(CacheError, match="newer InvoiceDesk"):
        Cache.open(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    text = b"this is not a database" * 100
    (other / "cache.sqlite3").write_bytes(text)
    # (the message is matched on words the tmp_path cannot contain)
    with pytest.raises(CacheError, match=r"is not an InvoiceDesk cache \(not a SQLite database\)"):
        Cache.open(other)
    assert (other / "cache.sqlite3").read_bytes() == text, "refused, never replaced"


def test_upsert_never_duplicates_and_keeps_the_raw_payload(cache: Cache) -> None:
    cache.upsert([order(1, total=10.0)])
    cache.upsert([order(1, total=12.5)])
    assert cache.count() == 1
    back = cache.get_order(SHOP, "1")
    assert back is not None and back.total == Decimal("12.5")
    assert back.raw["order"]["total"] == 12.5 if "order" in back.raw else back.raw["total"] == 12.5


def test_documents_survive_a_resync_from_the_list_endpoint(cache: Cache) -> None:
    o = order(5)
    doc = Document(public_id="INV-5", external_id="INV-5", url="https://b.example/INV-5", document_type=1)
    cache.upsert([replace(o, documents=(doc,))], documents_known=True)
    assert cache.fetch(Query(search="inv-5"))[0].summary.needs_action == ""
    cache.upsert([order(5)])  # the list endpoint carries no documents
    row = cache.fetch()[0].summary
    assert row.invoice_public_id == "INV-5" and row.needs_action == ""
    assert cache.documents_unknown(SHOP, ("paid",)) == []


def test_needs_action_codes(cache: Cache) -> None:
    cache.upsert([order(1, status="paid"), order(2, status="pending_payment"),
                  invoice(3, "paid", "buy_online"), invoice(4, "paid", "click_and_collect"),
                  invoice(5, "ready", "click_and_collect"), invoice(6, "sent")])
    needs = {r.summary.id: r.summary.needs_action for r in cache.fetch(limit=50)}
    # A paid order from a listing: its documents are not read yet, so nobody knows whether
    # it has an invoice; once read (none), it owes one.
    assert needs == {"1": "not_checked", "2": "", "3": "mark_sent", "4": "mark_ready", "5": "mark_collected", "6": ""}
    cache.set_documents(order(1).account, "1", [])
    assert cache.get_order(order(1).account, "1") is not None
    assert {r.summary.id: r.summary.needs_action for r in cache.fetch(limit=50)}["1"] == "invoice"
    cache.upsert([order(1, status="paid")])  # listed again: what was read stays known
    assert {r.summary.id: r.summary.needs_action for r in cache.fetch(limit=50)}["1"] == "invoice"
    assert {r.summary.id for r in cache.fetch(Query(needs_action=True))} == {"1", "3", "4", "5"}


def test_filter_sort_page_and_search_happen_in_sql(cache: Cache) -> None:
    cache.upsert([order(i, total=float(i), email=f"p{i}@shop.example", sku=f"SKU-{i:04d}") for i in range(1, 301)])
    cache.upsert([invoice(1000 + i) for i in range(20)])
    assert cache.count(Query(source="jumpseller")) == 300
    top = cache.fetch(Query(source="jumpseller"), sort="total", descending=True, limit=3)
    assert [r.summary.id for r in top] == ["300", "299", "298"]
    page2 = cache.fetch(Query(source="jumpseller"), sort="id", descending=False, offset=100, limit=5)
    assert [r.summary.id for r in page2] == ["101", "102", "103", "104", "105"]
    assert [r.summary.id for r in cache.fetch(Query(search="p123@shop"))] == ["123"]
    assert [r.summary.id for r in cache.fetch(Query(search="sku-0042"))] == ["42"]
    assert cache.count(Query(search="b2")) == 20  # tracking numbers are searchable
    assert cache.count(Query(search="zz")) == 0  # short words use LIKE
    assert cache.count(Query(search="100%")) == 0  # LIKE wildcards are literal
    with pytest.raises(ValueError):
        cache.fetch(sort="raw; DROP TABLE records")
    since = datetime(2026, 11, 20, tzinfo=UTC)
    assert all(r.summary.date >= since for r in cache.fetch(Query(source="jumpseller", date_from=since), limit=500))


def test_sync_state_round_trip(cache: Cache) -> None:
    from invoicedesk.cache import SyncState

    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    cache.put_sync_state(SyncState("shop", "jumpseller", None, 1234, now, None))
    got = cache.sync_state("shop", "jumpseller")
    assert got.last_order_id == 1234 and got.last_synced_at == now
    assert [s.account for s in cache.sync_states()] == ["shop"]


def test_a_page_written_in_one_statement_equals_one_written_row_by_row(tmp_path: Path) -> None:
    """A page goes into SQLite as one JSON array (one statement); an SQLite without JSON1
    writes it row by row. Both leave the same values of the same types in every column, a
    name with a NUL byte included (json_extract would end it there: that page goes row by row)."""
    from invoicedesk.cache.records import RecordsCache

    records = [order(i, total=t, company="Díaz “Ltda”", email=f"ä{i}@example.com")
               for i, t in enumerate([10.0, 0.1, 123456789.99, 0.0, 7.5], start=1)]
    records += [invoice(100 + i, status=s) for i, s in enumerate(["paid", "sent", "ready"])]
    nul = [order(60, company="Nul\x00l Byte")]
    tables = []
    for one_statement in (True, False):
        c = Cache.open(tmp_path / str(one_statement))
        try:
            c._json_rows = one_statement  # this SQLite has JSON1: say once that it has not
            c.upsert(records)
            c.upsert(nul)
            db = sqlite3.connect(tmp_path / str(one_statement) / "cache.sqlite3")
            cols = [r[1] for r in db.execute("PRAGMA table_info(records)") if r[1] != "synced_at"]
            tables.append(db.execute(
                f"SELECT {', '.join(f'{c}, typeof({c})' for c in cols)} FROM records ORDER BY rowid").fetchall())
            db.close()
        finally:
            c.close()
    assert RecordsCache._json_rows is True
    assert len(tables[0]) == len(records) + 1
    assert tables[0] == tables[1]
    assert any("nul\x00l byte" in str(v) for v in tables[0][-1])
