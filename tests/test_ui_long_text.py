"""A customer name of 10 MB, as staff meet it: the window shows the start of it and stays usable.

Before the cap, selecting such an order froze the window for 64 s (the detail pane alone 23 s,
the list cell's eliding the rest). What the service sent is still kept whole in the cache.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoicedesk.actions import Actions
from invoicedesk.cache import Cache
from invoicedesk.config import Config, StaticSecrets
from invoicedesk.domain import Order, parse_order
from invoicedesk.services import Services
from invoicedesk.sync import Syncer
from invoicedesk.ui.detail_pane import DetailPane
from invoicedesk.ui.main_window import MainWindow
from invoicedesk.ui.records_model import Column
from tests.fixtures import FIXTURES

TEN_MB = 10_000_000


def _order(order_id: int, **customer: str) -> Order:
    body = json.loads((FIXTURES / "jumpseller" / "order-1026-docs-example.json").read_text())
    odd = copy.deepcopy(body)
    odd["order"]["id"] = order_id
    odd["order"]["customer"].update(customer)
    return parse_order(odd, account="demo-store")


@pytest.fixture
def window(qtbot, qrun, tmp_path: Path) -> Iterator[Any]:
    """The real window over a cache holding an ordinary order and one with a 10 MB name."""
    cache = Cache.open(tmp_path)
    cache.upsert([_order(1026), _order(1027, fullname="Ana " + "x" * TEN_MB)])
    services = Services(Config(), StaticSecrets(), tmp_path)
    w = MainWindow(services, cache, Syncer(services, cache), Actions(services, cache), sync_on_start=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    qrun(w.shutdown())
    qrun(services.aclose())
    cache.close()


def test_selecting_an_order_with_a_10_mb_name_shows_its_start_and_size(qtbot, window) -> None:
    assert window.select_record("jumpseller", "demo-store", "1027")
    qtbot.waitUntil(lambda: window.detail.record is not None and str(window.detail.record.id) == "1027")
    shown = window.detail.customer.text()
    assert "Ana xxxx" in shown
    assert "… (10 MB)" in shown
    assert 4000 < len(shown) < 10_000  # the first few thousand characters, not 10 MB

    row = window.model.row_of_key(("jumpseller", "demo-store", "1027"))
    cell = window.model.index(row, int(Column.CUSTOMER)).data()
    assert cell.startswith("Ana xxx") and cell.endswith("… (10 MB)") and len(cell) < 400

    # Nothing is lost: the cache and the copied row keep every character.
    assert len(window.cache.get("jumpseller", "demo-store", "1027").customer_name) == TEN_MB + 4
    assert len(window.model.texts(row)[int(Column.CUSTOMER)]) == TEN_MB + 4


def test_an_ordinary_name_is_shown_whole_and_unchanged(qtbot, window) -> None:
    assert window.select_record("jumpseller", "demo-store", "1026")
    qtbot.waitUntil(lambda: window.detail.record is not None and str(window.detail.record.id) == "1026")
    name = window.detail.record.customer_name
    assert f"<b>{name}</b>" in window.detail.customer.text()
    assert "…" not in window.detail.customer.text()


def test_one_long_unbroken_run_does_not_widen_the_pane(qtbot) -> None:
    """A 4,000-character word made the pane 31,000 px wide: every section went off screen."""
    pane = DetailPane()
    pane.resize(480, 700)
    qtbot.addWidget(pane)
    pane.show()
    qtbot.waitExposed(pane)
    pane.show_record(_order(1027, fullname="y" * 100_000, email="e" * 5000 + "@example.com"), [])
    assert "… (100 kB)" in pane.customer.text()
    assert pane._scroll.widget().minimumSizeHint().width() < 600


def test_a_long_tracking_link_opens_exactly_as_sent_and_an_absurd_one_is_not_a_link(qtbot) -> None:
    """Capping and wrap points are for text: an address with a zero-width space would not open."""
    from dataclasses import replace

    pane = DetailPane()
    qtbot.addWidget(pane)
    url = "https://track.example.com/parcel?" + "id=33PKP0004327&" + "x" * 300
    pane.show_record(replace(_order(1028), tracking_url=url, tracking_number="33PKP0004327"), [])
    assert f'href="{url.replace("&", "&amp;")}"' in pane.shipments.text()
    huge = "https://track.example.com/" + "y" * TEN_MB
    pane.show_record(replace(_order(1029), tracking_url=huge, tracking_number="33PKP0004328"), [])
    assert "href" not in pane.shipments.text() and "33PKP0004328" in pane.shipments.text()
