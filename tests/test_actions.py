"""Actions happen exactly once: staff can click twice, the network can fail, and no order is
ever invoiced twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from invoicedesk.actions import ActionRefusedError, Actions
from invoicedesk.cache import Query
from invoicedesk.errors import OutcomeUnknownError, RejectedError, ServiceError
from invoicedesk.sandbox import Sandbox
from invoicedesk.sync import Syncer
from tests.core_helpers import wire

STORE = "demo-store"
SELLER = "bikeshop"


@pytest.fixture
def synced(tmp_path: Path, arun):
    sb = Sandbox(seed=31, orders=80, invoices=80, stores=1, rate_limits=False)
    sb.start()
    services, cache = wire(sb, tmp_path, timeout=2.0)
    arun(Syncer(services, cache).sync_all())
    yield sb, services, cache, Actions(services, cache)
    arun(services.aclose())
    cache.close()
    sb.stop()


def needing(cache, code: str, source: str = "jumpseller") -> list[str]:
    rows = cache.iter_all(Query(source=source, needs_action=True))
    return [r.summary.id for r in rows if r.summary.needs_action == code]


def invoices_for(sb, order_id: str) -> list[dict]:
    return [d for d in sb.invoices_created(STORE) if str(d["order_id"]) == str(order_id)]


def taxless_business_orders(sb) -> set[str]:
    out = set()
    for body in sb.truth_orders(STORE):
        o = body["order"]
        company = (o.get("billing_information") or {}).get("company_name")
        if company and not (o.get("billing_address") or {}).get("taxid"):
            out.add(str(o["id"]))
    return out


def test_staff_invoices_a_paid_order_once_and_it_is_attached(synced, arun) -> None:
    sb, _services, cache, actions = synced
    order_id = next(i for i in needing(cache, "invoice") if i not in taxless_business_orders(sb))
    outcome = arun(actions.create_invoice(STORE, order_id))
    assert outcome.state == "done" and outcome.public_id and outcome.url.startswith("http")
    attached = [d["public_id"] for d in sb.truth_documents(STORE)[int(order_id)]]
    assert outcome.public_id in attached
    row = cache.fetch(Query(search=order_id, source="jumpseller"), limit=5)
    assert any(r.summary.invoice_public_id == outcome.public_id and r.summary.needs_action == "" for r in row)
    history = cache.journal("jumpseller", STORE, order_id)
    assert [e.state for e in history] == ["done"]

    again = arun(actions.create_invoice(STORE, order_id))
    assert again.state == "already_done"
    assert len(invoices_for(sb, order_id)) == 1


def test_two_clicks_at_once_make_one_invoice(synced, arun) -> None:
    sb, _services, cache, actions = synced
    order_id = next(i for i in needing(cache, "invoice") if i not in taxless_business_orders(sb))

    async def both():
        return await asyncio.gather(
            actions.create_invoice(STORE, order_id),
            actions.create_invoice(STORE, order_id),
            return_exceptions=True,
        )

    first, second = arun(both())
    results = [first, second]
    assert sum(not isinstance(r, BaseException) and r.state == "done" for r in results) == 1
    assert any(isinstance(r, ActionRefusedError) for r in results)
    assert len(invoices_for(sb, order_id)) == 1


def test_refusal_by_the_invoicing_service_is_shown_verbatim_and_changes_nothing(synced, arun) -> None:
    sb, _services, cache, actions = synced
    # The list already says "Tax ID missing" (and the window's button is off); sent anyway,
    # the service refuses in its own words.
    candidates = [i for i in needing(cache, "tax_id_missing") if i in taxless_business_orders(sb)]
    if not candidates:
        pytest.skip("this seed has no paid business order without tax id")
    order_id = candidates[0]
    with pytest.raises(RejectedError) as err:
        arun(actions.create_invoice(STORE, order_id))
    assert "Customer tax ID is required for invoice generation" in err.value.messages
    assert invoices_for(sb, order_id) == []
    assert int(order_id) not in sb.truth_documents(STORE)
    assert [e.state for e in cache.journal("jumpseller", STORE, order_id)] == ["failed"]
    assert needing(cache, "tax_id_missing").count(order_id) == 1  # still owed, nothing changed


def test_timeout_after_sending_is_outcome_unknown_and_never_resent(synced, arun) -> None:
    sb, _services, cache, actions = synced
    order_id = next(i for i in needing(cache, "invoice") if i not in taxless_business_orders(sb))
    sb.inject("invoicing", "slow", count=1, delay=4.0)  # the client gives up after 2 s
    with pytest.raises(OutcomeUnknownError):
        arun(actions.create_invoice(STORE, order_id))
    assert len(invoices_for(sb, order_id)) == 1  # the service did make it
    assert needing(cache, "outcome_unknown") == [order_id]

    # Not re-sent: neither by a plain retry nor by the next start's recovery.
    with pytest.raises(ActionRefusedError, match="unknown outcome"):
        arun(actions.create_invoice(STORE, order_id))
    arun(actions.resume())
    assert len(invoices_for(sb, order_id)) == 1

    # Staff checked and confirm the retry explicitly.
    outcome = arun(actions.create_invoice(STORE, order_id, force=True))
    assert outcome.state == "done"
    assert len(invoices_for(sb, order_id)) == 2
    states = [e.state for e in cache.journal("jumpseller", STORE, order_id)]
    assert states == ["failed", "done"]


def test_attach_failure_is_finished_later_without_invoicing_again(synced, arun, monkeypatch) -> None:
    sb, services, cache, actions = synced
    order_id = next(i for i in needing(cache, "invoice") if i not in taxless_business_orders(sb))
    # Jumpseller goes down right after the invoicing service answered: the invoice exists,
    # attaching it fails.
    invoicing = services.invoicing(STORE)
    real_create = invoicing.create_invoice

    async def create_then_store_goes_down(order):
        result = await real_create(order)
        sb.inject("jumpseller", "503", rate=1.0)
        return result

    monkeypatch.setattr(invoicing, "create_invoice", create_then_store_goes_down)
    with pytest.raises(ServiceError):
        arun(actions.create_invoice(STORE, order_id), timeout=120)
    sb.clear_faults()
    created = invoices_for(sb, order_id)
    assert len(created) == 1
    assert [e.state for e in cache.journal("jumpseller", STORE, order_id)] == ["invoiced"]

    done = arun(actions.resume())
    assert [d.record_id for d in done] == [order_id]
    assert len(invoices_for(sb, order_id)) == 1
    attached = [d["public_id"] for d in sb.truth_documents(STORE)[int(order_id)]]
    assert created[0]["public_id"] in attached
    assert [e.state for e in cache.journal("jumpseller", STORE, order_id)] == ["done"]


def test_credit_note_for_a_canceled_invoiced_order(synced, arun) -> None:
    sb, _services, cache, actions = synced
    owed = needing(cache, "credit_note")
    if not owed:
        sb.advance(hours=72)
        arun(Syncer(actions.services, cache).sync_all(deep=True))
        owed = needing(cache, "credit_note")
    assert owed, "the sandbox cancels some invoiced orders"
    outcome = arun(actions.create_credit_note(STORE, owed[0]))
    assert outcome.state == "done"
    docs = sb.truth_documents(STORE)[int(owed[0])]
    assert any(d["document_type"] == 0 and d["public_id"] == outcome.public_id for d in docs)
    assert owed[0] not in needing(cache, "credit_note")


def test_invoice_refused_for_an_unpaid_order_before_any_invoicing(synced, arun) -> None:
    sb, _services, cache, actions = synced
    pending = cache.record_ids("jumpseller", STORE, statuses=("pending_payment",))[0]
    with pytest.raises(ActionRefusedError, match="only paid orders"):
        arun(actions.create_invoice(STORE, pending))
    assert invoices_for(sb, pending) == []


def test_marketplacer_invoices_move_along_their_state_machine(synced, arun) -> None:
    sb, services, cache, actions = synced
    to_send = needing(cache, "mark_sent", "marketplacer")[0]
    done = arun(actions.mark_sent(SELLER, to_send, tracking="33PKP0004327", carrier="Australia Post", note="Fragile"))
    assert done.state == "done" and done.record is not None and done.record.status == "sent"
    assert cache.get_invoice(SELLER, to_send).status == "sent"

    ready = needing(cache, "mark_ready", "marketplacer")[0]
    arun(actions.mark_ready(SELLER, ready))
    assert cache.get_invoice(SELLER, ready).status == "ready"
    arun(actions.mark_collected(SELLER, ready))
    assert cache.get_invoice(SELLER, ready).status == "collected"

    # The wrong delivery type is refused before any request, saying why.
    before = services.request_count(SELLER)
    with pytest.raises(ActionRefusedError, match="Only Click and Collect"):
        arun(actions.mark_ready(SELLER, to_send))
    assert services.request_count(SELLER) == before
    truth = {str(r["id"]): r["attributes"]["status"] for r in sb.truth_invoices(SELLER)}
    assert truth[to_send] == "sent" and truth[ready] == "collected"
