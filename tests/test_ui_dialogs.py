"""Mark Sent and Accounts dialogs, as staff use them, against the real sandbox."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt

from invoicedesk.config import (
    Config,
    JumpsellerAccount,
    StaticSecrets,
    load_config,
)
from invoicedesk.domain import Invoice, parse_invoice_document
from invoicedesk.ui.accounts_dialog import AccountsDialog, connection_tester
from invoicedesk.ui.mark_sent_dialog import CARRIERS, MarkSentDialog
from invoicedesk.ui.palette import tones

# ----------------------------------------------------------------------------- Mark Sent


def _invoice(sb, status: str, delivery: str) -> Invoice:
    """A real invoice from the sandbox, read over HTTP like the client does."""
    seller = sb.sellers[0]
    resource = next(
        r
        for r in sb.truth_invoices(seller.name)
        if r["attributes"]["status"] == status and r["attributes"]["delivery_type"] == delivery
    )
    r = httpx.get(
        f"{sb.marketplacer_url}/api/v2/client/invoices/{resource['id']}",
        headers={"Authorization": f"Bearer {seller.api_key}"},
        timeout=5,
    )
    r.raise_for_status()
    return parse_invoice_document(r.json(), account=seller.name, currency=seller.currency)


@pytest.fixture(scope="module")
def paid_invoice(sandbox_session) -> Invoice:
    return _invoice(sandbox_session, "paid", "buy_online")


@pytest.fixture
def mark_sent(qtbot, paid_invoice):
    dialog = MarkSentDialog(paid_invoice)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    return dialog


def _type(qtbot, widget, text: str) -> None:
    """Replace a field's text the way a person does: select all, type."""
    widget.selectAll()
    if text:
        qtbot.keyClicks(widget, text)
    else:
        qtbot.keyClick(widget, Qt.Key.Key_Delete)


def test_mark_sent_names_the_invoice_and_stays_non_modal(mark_sent, paid_invoice, tmp_path) -> None:
    text = mark_sent.summary.text()
    assert f"Invoice {paid_invoice.id}" in text
    assert paid_invoice.customer_name and paid_invoice.customer_name in text
    assert "Buy Online" in text
    assert mark_sent.isVisible() and not mark_sent.isModal()
    assert mark_sent.windowModality() == Qt.WindowModality.NonModal
    assert [mark_sent.carrier_combo.itemText(i) for i in range(mark_sent.carrier_combo.count())] == list(
        CARRIERS
    )
    mark_sent.grab().save(str(tmp_path / "mark-sent-empty.png"))


def test_mark_sent_button_waits_for_tracking_and_carrier(mark_sent, qtbot) -> None:
    ok, hint = mark_sent.ok_button, mark_sent.hint
    assert not ok.isEnabled()
    assert "Enter the tracking number." in hint.text() and "carrier" in hint.text()

    _type(qtbot, mark_sent.tracking_edit, "33PKP7375692")
    assert not ok.isEnabled()
    assert "tracking" not in hint.text().lower() and "carrier" in hint.text()

    mark_sent.carrier_combo.setCurrentIndex(CARRIERS.index("StarTrack"))
    assert ok.isEnabled()
    assert hint.text() == "Ready to mark the invoice sent."


@pytest.mark.parametrize(
    ("tracking", "why"),
    [
        ("", "Enter the tracking number."),
        ("   ", "Enter the tracking number."),
        ("AB", "too short"),
        ("A" * 65, "too long"),
        ("33PKP,7375692", "only letters, digits, spaces and hyphens"),
        ("33PKP/73", "only letters, digits, spaces and hyphens"),
    ],
)
def test_mark_sent_refuses_unusable_tracking_numbers(mark_sent, qtbot, tracking: str, why: str) -> None:
    mark_sent.carrier_combo.setCurrentIndex(0)
    _type(qtbot, mark_sent.tracking_edit, tracking)
    assert not mark_sent.ok_button.isEnabled()
    assert why in mark_sent.hint.text()


def test_mark_sent_refuses_a_carrier_with_a_comma(mark_sent, qtbot) -> None:
    _type(qtbot, mark_sent.tracking_edit, "ABC-123")
    _type(qtbot, mark_sent.carrier_combo.lineEdit(), "Fast, Cheap Couriers")
    assert not mark_sent.ok_button.isEnabled()
    assert "comma" in mark_sent.hint.text()


def test_mark_sent_submits_trimmed_values_with_a_free_text_carrier(mark_sent, qtbot) -> None:
    _type(qtbot, mark_sent.tracking_edit, "  TT 0042-99 ")
    _type(qtbot, mark_sent.carrier_combo.lineEdit(), " Bob's Bike Couriers ")
    _type(qtbot, mark_sent.note_edit, " Left with reception ")
    assert mark_sent.ok_button.isEnabled()
    with qtbot.waitSignal(mark_sent.submitted, timeout=1000) as sent:
        qtbot.mouseClick(mark_sent.ok_button, Qt.MouseButton.LeftButton)
    assert sent.args == ["TT 0042-99", "Bob's Bike Couriers", "Left with reception"]
    assert not mark_sent.isVisible()


def test_enter_on_an_incomplete_form_submits_nothing(mark_sent, qtbot) -> None:
    _type(qtbot, mark_sent.tracking_edit, "ABC123")
    with qtbot.assertNotEmitted(mark_sent.submitted):
        qtbot.keyClick(mark_sent.tracking_edit, Qt.Key.Key_Return)
        mark_sent.accept()
    assert mark_sent.isVisible()


def test_click_and_collect_invoice_cannot_be_marked_sent(qtbot, sandbox_session) -> None:
    invoice = _invoice(sandbox_session, "paid", "click_and_collect")
    dialog = MarkSentDialog(invoice)
    qtbot.addWidget(dialog)
    dialog.open()
    _type(qtbot, dialog.tracking_edit, "ABC123")
    dialog.carrier_combo.setCurrentIndex(0)
    assert not dialog.ok_button.isEnabled()
    assert not dialog.refusal.isHidden()
    assert "Only Buy Online invoices can be marked sent" in dialog.refusal.text()


# ----------------------------------------------------------------------------- Accounts


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "config.toml"


@pytest.fixture
def secrets() -> StaticSecrets:
    return StaticSecrets()


@pytest.fixture
def tester(secrets, data_dir):
    return connection_tester(secrets, data_dir)


def _dialog(qtbot, config: Config, secrets, tester) -> AccountsDialog:
    dialog = AccountsDialog(config, secrets, tester)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # focus moves between fields only in the active window
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def _fill(qtbot, dialog: AccountsDialog, kind: str, **values: str) -> None:
    for key, value in values.items():
        _type(qtbot, dialog.edits[kind][key], value)


def _add_sandbox_store(qtbot, dialog: AccountsDialog, sb, *, name: str = "web-store", token: str = ""):
    store = sb.stores[0]
    qtbot.mouseClick(dialog.add_store_button, Qt.MouseButton.LeftButton)
    _fill(
        qtbot,
        dialog,
        "jumpseller",
        name=name,
        login=store.login,
        api_url=sb.jumpseller_url,
        invoicing_url=sb.invoicing_url,
        token=token or store.token,
        hooks_token=store.hooks_token or "",
    )
    return store


def test_staff_add_a_store_and_its_secrets_go_to_the_keyring_not_the_file(
    qtbot, config_path, secrets, tester, sandbox_session, tmp_path
) -> None:
    sb = sandbox_session
    dialog = _dialog(qtbot, Config(path=config_path), secrets, tester)
    assert dialog.account_list.count() == 0
    store = _add_sandbox_store(qtbot, dialog, sb)
    assert dialog.account_list.item(0).text() == "web-store"
    assert dialog.error_label.isHidden() and dialog.save_button.isEnabled()
    dialog.grab().save(str(tmp_path / "accounts-new-store.png"))

    with qtbot.waitSignal(dialog.saved, timeout=2000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    config = saved.args[0]
    assert isinstance(config, Config) and config.path == config_path
    account = config.account("web-store")
    assert isinstance(account, JumpsellerAccount)
    assert (account.login, account.api_url, account.invoicing_url) == (
        store.login,
        sb.jumpseller_url,
        sb.invoicing_url,
    )
    assert load_config(config_path) == config

    assert secrets.values[account.token_key] == store.token
    assert secrets.values[account.hooks_token_key] == store.hooks_token
    text = config_path.read_text(encoding="utf-8")
    assert store.token not in text and store.hooks_token not in text
    table = tomllib.loads(text)["jumpseller"][0]
    assert not {"token", "hooks_token", "authtoken"} & set(table)
    assert "Saved to" in dialog.status.text()


def _leave(qtbot, edit) -> None:
    """Move on to the next field, as staff do with Tab."""
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


def _shown_messages(dialog: AccountsDialog) -> dict[str, str]:
    """The field messages on screen now, by field."""
    return {
        key: label.text()
        for labels in dialog.messages.values()
        for key, label in labels.items()
        if not label.isHidden()
    }


def test_a_bad_address_is_said_once_in_staff_words_under_its_field(
    qtbot, config_path, secrets, tester
) -> None:
    dialog = _dialog(qtbot, Config(path=config_path), secrets, tester)
    dialog.add_account("jumpseller")
    _fill(qtbot, dialog, "jumpseller", name="shop", login="shop", api_url="ftp://api.example.com/v1")
    _leave(qtbot, dialog.edits["jumpseller"]["api_url"])

    assert _shown_messages(dialog) == {"api_url": "The store's API address must start with https://"}
    assert dialog.error_label.isHidden()
    marked = dialog.edits["jumpseller"]["api_url"].styleSheet()
    assert tones(dialog.palette()).error_text in marked  # the field is marked
    assert dialog.edits["jumpseller"]["name"].styleSheet() == ""
    assert dialog.save() is None
    assert not config_path.exists()
    assert "fix the fields marked in red" in dialog.status.text()

    _type(qtbot, dialog.edits["jumpseller"]["api_url"], "https://api.example.com/v1")
    assert _shown_messages(dialog) == {}
    assert dialog.edits["jumpseller"]["api_url"].styleSheet() == ""
    assert dialog.save() is not None


def test_a_new_seller_without_a_name_is_told_so_when_saving(qtbot, config_path, secrets, tester) -> None:
    dialog = _dialog(qtbot, Config(path=config_path), secrets, tester)
    qtbot.mouseClick(dialog.add_seller_button, Qt.MouseButton.LeftButton)
    assert _shown_messages(dialog) == {} and dialog.secret_hint.isHidden()  # nothing typed yet
    assert dialog.account_list.item(0).text() == "New seller (no name yet)"

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert _shown_messages(dialog) == {
        "name": "Give the seller a name",
        "api_url": "Type the marketplace's address (https://…)",
    }
    assert "No API key" in dialog.secret_hint.text()
    assert not config_path.exists()


def test_two_accounts_with_one_name_are_refused(qtbot, config_path, secrets, tester) -> None:
    existing = JumpsellerAccount("shop", "shop")
    dialog = _dialog(qtbot, Config(jumpseller=(existing,), path=config_path), secrets, tester)
    dialog.add_account("marketplacer")
    _fill(qtbot, dialog, "marketplacer", name="shop", api_url="https://market.example.com")
    _leave(qtbot, dialog.edits["marketplacer"]["api_url"])
    _leave(qtbot, dialog.edits["marketplacer"]["name"])
    assert _shown_messages(dialog) == {
        "name": 'Another account is already called "shop": give this seller its own name'
    }
    dialog.account_list.setCurrentRow(0)  # the store that had the name first says nothing
    assert _shown_messages(dialog) == {}
    assert dialog.save() is None and not config_path.exists()


def _answer(qtbot, dialog: AccountsDialog, button: str) -> str:
    """Press ``button`` in the question the dialog asks; the question's text."""
    box = dialog.question
    assert box is not None and box.isVisible()
    text = f"{box.text()} {box.informativeText()}"
    chosen = next(b for b in box.buttons() if b.text() == button)
    qtbot.mouseClick(chosen, Qt.MouseButton.LeftButton)
    return text


def test_renaming_keeps_the_saved_secret_and_removing_drops_the_account(
    qtbot, config_path, secrets, tester
) -> None:
    old = JumpsellerAccount("shop", "shop")
    other = JumpsellerAccount("old-shop", "old")
    secrets.set(old.token_key, "s3cret-token")
    secrets.set(other.token_key, "other-token")
    dialog = _dialog(qtbot, Config(jumpseller=(old, other), path=config_path), secrets, tester)
    assert "keyring" in dialog.edits["jumpseller"]["token"].placeholderText()
    _type(qtbot, dialog.edits["jumpseller"]["name"], "shop-main")
    dialog.account_list.setCurrentRow(1)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    asked = _answer(qtbot, dialog, "Remove")
    assert 'Remove the store "old-shop"?' in asked
    assert dialog.account_list.count() == 1

    config = dialog.save()
    assert config is not None
    assert [a.name for a in config.accounts] == ["shop-main"]
    assert secrets.values == {replace(old, name="shop-main").token_key: "s3cret-token"}
    assert "s3cret-token" not in config_path.read_text(encoding="utf-8")


def test_test_connection_uses_the_typed_token_without_saving_it(
    qtbot, qloop, config_path, secrets, tester, sandbox_session, tmp_path
) -> None:
    dialog = _dialog(qtbot, Config(path=config_path), secrets, tester)
    _add_sandbox_store(qtbot, dialog, sandbox_session)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("Connected"), timeout=10000)
    assert "orders in the store" in dialog.test_result.text()
    assert dialog.last_test is not None and dialog.last_test.ok
    assert dialog.test_button.isEnabled()
    assert secrets.values == {}  # typed, tested, not saved
    assert not config_path.exists()
    dialog.grab().save(str(tmp_path / "accounts-connected.png"))


def test_test_connection_reports_a_wrong_token(
    qtbot, qloop, config_path, secrets, tester, sandbox_session
) -> None:
    dialog = _dialog(qtbot, Config(path=config_path), secrets, tester)
    _add_sandbox_store(qtbot, dialog, sandbox_session, token="not-the-token")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_test is not None, timeout=10000)
    assert not dialog.last_test.ok
    assert dialog.test_result.text() == "The store refused the token. Check the API login and token and test again."
    assert "not-the-token" not in dialog.test_result.text()


@pytest.mark.parametrize("right_key", [True, False], ids=["its key", "a wrong key"])
def test_test_connection_for_a_marketplacer_seller(
    qtbot, qloop, config_path, secrets, tester, sandbox_session, right_key: bool
) -> None:
    seller = sandbox_session.sellers[0]
    dialog = _dialog(qtbot, Config(path=config_path), secrets, tester)
    dialog.add_account("marketplacer")
    _fill(
        qtbot,
        dialog,
        "marketplacer",
        name=seller.name,
        api_url=sandbox_session.marketplacer_url,
        currency=seller.currency,
        api_key=seller.api_key if right_key else "not-the-key",
    )
    assert dialog.secret_hint.isHidden()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_test is not None, timeout=10000)
    if right_key:
        assert dialog.last_test.ok, dialog.test_result.text()
        assert dialog.test_result.text().startswith("Connected")
    else:
        assert not dialog.last_test.ok
        assert dialog.test_result.text() == (
            "The marketplace refused the API key. Check the API key and test again."
        )
