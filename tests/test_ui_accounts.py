"""The Accounts dialog as staff meet it: words they understand, questions before anything is
lost, tokens in the keyring.

The keyring here is the real ``keyring`` library with an in-memory backend plugged in through
its own ``set_keyring`` (this machine has no Secret Service): :class:`KeyringSecrets` runs as
in the app, down to the library's calls.
"""

from __future__ import annotations

import socket
import tomllib

import keyring
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QScrollArea

from invoicedesk.config import (
    KEYRING_SERVICE,
    Config,
    JumpsellerAccount,
    KeyringSecrets,
    MarketplacerAccount,
    StaticSecrets,
    load_config,
)
from invoicedesk.ui.account_drafts import JS, MP, Draft, check, config_data, problems
from invoicedesk.ui.accounts_dialog import AccountsDialog, connection_tester
from invoicedesk.ui.palette import dark_palette, light_palette, tones


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict: the library's own interface, nothing else."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("not stored")


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


async def never(*_args):
    raise AssertionError("no connection test expected")


def _dialog(qtbot, config: Config, secrets, tester=never, **kwargs) -> AccountsDialog:
    dialog = AccountsDialog(config, secrets, tester, **kwargs)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # focus moves between fields only in the active window
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def _type(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def _type_and_leave(qtbot, edit: QLineEdit, text: str) -> None:
    _type(qtbot, edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


def _shown(dialog: AccountsDialog) -> dict[str, str]:
    return {
        key: label.text()
        for labels in dialog.messages.values()
        for key, label in labels.items()
        if not label.isHidden()
    }


def _every_word(dialog: AccountsDialog) -> str:
    """All the text on screen in the dialog, to look for words staff must never see."""
    labels = [w.text() for w in dialog.findChildren(QLabel) if w.isVisible()]
    items = [dialog.account_list.item(i).text() for i in range(dialog.account_list.count())]
    return " ".join([*labels, *items, dialog.status.text()])


def _answer(qtbot, dialog: AccountsDialog, button: str) -> str:
    box = dialog.question
    assert box is not None and box.isVisible()
    text = f"{box.text()} {box.informativeText()}"
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == button), Qt.MouseButton.LeftButton)
    return text


# ----------------------------------------------------------------------------- words


def test_adding_a_first_store_shows_no_problem_before_anything_is_typed(qtbot, tmp_path) -> None:
    path = tmp_path / "config.toml"
    dialog = _dialog(qtbot, Config(path=path), StaticSecrets(), add="jumpseller")
    assert dialog.current is not None and dialog.current.kind == JS
    assert QApplication.focusWidget() is dialog.edits[JS]["name"]
    assert _shown(dialog) == {}
    assert dialog.error_label.isHidden() and dialog.secret_hint.isHidden()
    assert all(not e.styleSheet() for e in dialog.edits[JS].values())
    words = _every_word(dialog)
    assert "[[" not in words and "'name'" not in words and "required" not in words

    # Nothing typed: closing drops the empty store without a question and writes nothing.
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert dialog.question is None and not dialog.isVisible()
    assert not path.exists()


def test_the_welcome_screen_can_open_it_on_a_new_seller(qtbot, tmp_path) -> None:
    store = JumpsellerAccount("shop", "shop")
    dialog = _dialog(qtbot, Config(jumpseller=(store,), path=tmp_path / "c.toml"), StaticSecrets(), add="marketplacer")
    assert [d.kind for d in dialog.drafts] == [JS, MP]
    assert dialog.account_list.currentRow() == 1 and dialog.forms.currentIndex() == 2
    assert QApplication.focusWidget() is dialog.edits[MP]["name"]
    assert _shown(dialog) == {}


def test_each_account_is_told_its_own_problem_once(qtbot, tmp_path) -> None:
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), StaticSecrets())
    first = dialog.add_account(JS)
    _type(qtbot, dialog.edits[JS]["name"], "first")
    second = dialog.add_account(JS)
    _type(qtbot, dialog.edits[JS]["name"], "second")
    _type(qtbot, dialog.edits[JS]["login"], "second")
    _type(qtbot, dialog.edits[JS]["invoicing_url"], "invoices.example.com")
    assert _shown(dialog) == {}  # typing, not yet done

    assert dialog.save() is None
    # The first account with a problem is selected, with only its own problem.
    assert dialog.current is first
    assert _shown(dialog) == {"login": "Type the store's API login (Jumpseller Admin → Account)"}
    assert "fix the fields marked in red (2 accounts need it)" in dialog.status.text()
    dialog.account_list.setCurrentRow(dialog.drafts.index(second))
    assert _shown(dialog) == {"invoicing_url": "The invoicing address must start with https://"}
    words = _every_word(dialog)
    assert words.count("must start with https://") == 1
    assert "[[jumpseller]]" not in words and "#1" not in words and "#2" not in words
    assert dialog.account_list.item(0).toolTip().endswith("some fields need fixing")


def test_plain_http_to_another_computer_is_refused_in_words(qtbot, tmp_path) -> None:
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), StaticSecrets(), add="marketplacer")
    _type_and_leave(qtbot, dialog.edits[MP]["api_url"], "http://market.example.com")
    assert _shown(dialog) == {
        "api_url": "The marketplace's address must start with https:// (http:// only works on this computer)"
    }
    _type_and_leave(qtbot, dialog.edits[MP]["api_url"], "https://market.example.com")
    assert _shown(dialog) == {}


def test_environment_variables_sit_under_advanced_and_open_when_used(qtbot, tmp_path) -> None:
    store = JumpsellerAccount("shop", "shop", token_env="SHOP_TOKEN")
    dialog = _dialog(qtbot, Config(jumpseller=(store,), path=tmp_path / "c.toml"), StaticSecrets())
    assert dialog.edits[JS]["token_env"].isVisible()  # used by this store: shown
    dialog.add_account(JS)
    assert not dialog.edits[JS]["token_env"].isVisible()
    assert dialog.edits[JS]["token"].isVisible()
    qtbot.mouseClick(dialog.advanced_buttons[JS], Qt.MouseButton.LeftButton)
    _type_and_leave(qtbot, dialog.edits[JS]["token_env"], "1ST-TOKEN")
    assert _shown(dialog) == {"token_env": "Use only letters, digits and _ (not starting with a digit)"}


drafted = st.text(alphabet=st.sampled_from("ab1_ :/.?@-\t"), max_size=12)
addresses = st.one_of(
    drafted,
    st.sampled_from(
        ["https://x.example.com", "http://127.0.0.1:9", "http://x.example.com", "ftp://x", "https://u:p@x.io", ""]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([JS, MP]),
    name=drafted,
    login=drafted,
    url=addresses,
    invoicing=addresses,
    currency=st.sampled_from(["", "AUD", "nzd", "EU", "€UR", "EURO"]),
    env=st.sampled_from(["", "SHOP_TOKEN", "1X", "A-B"]),
    other=st.sampled_from(["", "other", "shop"]),
)
@example(kind=JS, name="shop", login="shop", url="", invoicing="", currency="", env="", other="shop")
def test_what_the_dialog_accepts_the_file_accepts(kind, name, login, url, invoicing, currency, env, other) -> None:
    """The staff-words rules and the file's rules agree on every draft."""
    draft = Draft.new(kind)
    draft.fields.update(name=name, api_url=url)
    if kind == JS:
        draft.fields.update(login=login, invoicing_url=invoicing, token_env=env)
    else:
        draft.fields.update(currency=currency, api_key_env=env)
    drafts = [draft]
    if other:
        drafts.append(Draft(JS, {"name": other, "login": "x"}))
    config, error = check(config_data(drafts))
    found = problems(draft, drafts)
    assert (config is not None) == (not found), (found, error)


# ----------------------------------------------------------------------------- the keyring


def test_the_token_goes_to_the_keyring_and_never_to_the_file(qtbot, tmp_path, memory_keyring) -> None:
    path = tmp_path / "config.toml"
    dialog = _dialog(qtbot, Config(path=path), KeyringSecrets(), add="jumpseller")
    _type(qtbot, dialog.edits[JS]["name"], "web-store")
    _type(qtbot, dialog.edits[JS]["login"], "web-login")
    token = dialog.edits[JS]["token"]
    _type(qtbot, token, "tok-3f9a1c")
    assert token.echoMode() == QLineEdit.EchoMode.Password
    show = dialog.show_buttons[JS]["token"]
    qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert token.echoMode() == QLineEdit.EchoMode.Normal and show.text() == "Hide"
    qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert token.echoMode() == QLineEdit.EchoMode.Password

    with qtbot.waitSignal(dialog.saved, timeout=2000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    account = load_config(path).account("web-store")
    assert memory_keyring.passwords == {(KEYRING_SERVICE, account.token_key): "tok-3f9a1c"}
    text = path.read_text(encoding="utf-8")
    assert "tok-3f9a1c" not in text
    assert tomllib.loads(text)["jumpseller"] == [
        {"name": "web-store", "login": "web-login", "api_url": "https://api.jumpseller.com/v1"}
    ]
    assert token.text() == "" and "keyring" in token.placeholderText()


def test_remove_asks_says_what_happens_and_clears_the_keyring(qtbot, tmp_path, memory_keyring) -> None:
    path = tmp_path / "config.toml"
    store = JumpsellerAccount("demo-store", "demo")
    seller = MarketplacerAccount("bikeshop", "https://market.example.com")
    secrets = KeyringSecrets()
    secrets.set(store.token_key, "store-token")
    secrets.set(store.hooks_token_key, "hooks-token")
    secrets.set(seller.api_key_key, "seller-key")
    dialog = _dialog(qtbot, Config(jumpseller=(store,), marketplacer=(seller,), path=path), secrets)

    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    asked = _answer(qtbot, dialog, "Cancel")
    assert asked.startswith('Remove the store "demo-store"?')
    assert "orders already downloaded stay in the list" in asked
    assert "deleted from the system keyring when you save" in asked
    assert dialog.account_list.count() == 2

    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, dialog, "Remove")
    assert [d.name for d in dialog.drafts] == ["bikeshop"]
    assert secrets.get(store.token_key) == "store-token"  # nothing happens before Save
    assert dialog.save() is not None
    assert memory_keyring.passwords == {(KEYRING_SERVICE, seller.api_key_key): "seller-key"}
    assert "demo-store" not in path.read_text(encoding="utf-8")


def test_removing_one_of_two_new_stores_removes_that_one(qtbot, tmp_path) -> None:
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), StaticSecrets())
    first = dialog.add_account(JS)
    dialog.add_account(JS)  # equal to the first, field for field
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert _answer(qtbot, dialog, "Remove").startswith("Remove this new store?")
    assert len(dialog.drafts) == 1 and dialog.drafts[0] is first


def test_a_new_store_under_a_removed_ones_name_does_not_inherit_its_token(qtbot, tmp_path) -> None:
    old = JumpsellerAccount("shop", "old-login")
    secrets = StaticSecrets({old.token_key: "old-token"})
    dialog = _dialog(qtbot, Config(jumpseller=(old,), path=tmp_path / "config.toml"), secrets)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, dialog, "Remove")
    dialog.add_account(JS)
    _type(qtbot, dialog.edits[JS]["name"], "shop")
    _type(qtbot, dialog.edits[JS]["login"], "new-login")
    assert dialog.save() is not None
    assert secrets.values == {}
    assert "No API token yet" in dialog.secret_hint.text()


def test_without_a_keyring_saving_says_what_to_do(qtbot, tmp_path) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # what this machine has: no keyring at all
    try:
        dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), KeyringSecrets(), add="jumpseller")
        _type(qtbot, dialog.edits[JS]["name"], "shop")
        _type(qtbot, dialog.edits[JS]["login"], "shop")
        _type(qtbot, dialog.edits[JS]["token"], "tok")
        assert dialog.save() is None
        assert dialog.error_label.text().startswith("This computer has no keyring to keep the secret in.")
        assert "Advanced" in dialog.error_label.text()
        assert not (tmp_path / "config.toml").exists()
    finally:
        keyring.set_keyring(before)


# ----------------------------------------------------------------------------- closing


def test_closing_with_unsaved_changes_asks_save_discard_or_cancel(qtbot, tmp_path) -> None:
    path = tmp_path / "config.toml"
    store = JumpsellerAccount("shop", "shop")
    dialog = _dialog(qtbot, Config(jumpseller=(store,), path=path), StaticSecrets())
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert dialog.question is None and not dialog.isVisible()  # nothing changed: no question

    dialog.open()
    _type(qtbot, dialog.edits[JS]["login"], "shop-2")
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    asked = _answer(qtbot, dialog, "Cancel")
    assert "Save the changes" in asked
    assert dialog.isVisible() and dialog.edits[JS]["login"].text() == "shop-2"

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert sorted(b.text() for b in dialog.question.buttons()) == ["Cancel", "Discard", "Save"]
    _answer(qtbot, dialog, "Discard")
    assert not dialog.isVisible() and not path.exists()


def test_saving_from_the_close_question_saves_then_closes(qtbot, tmp_path) -> None:
    path = tmp_path / "config.toml"
    dialog = _dialog(qtbot, Config(path=path), StaticSecrets(), add="marketplacer")
    _type(qtbot, dialog.edits[MP]["name"], "bikeshop")
    _type(qtbot, dialog.edits[MP]["api_url"], "https://market.example.com")
    dialog.close()  # the title bar's close button
    with qtbot.waitSignal(dialog.saved, timeout=2000):
        _answer(qtbot, dialog, "Save")
    assert not dialog.isVisible()
    assert load_config(path).account("bikeshop").api_url == "https://market.example.com"


def test_saving_from_the_close_question_with_a_problem_stays_open(qtbot, tmp_path) -> None:
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), StaticSecrets(), add="marketplacer")
    _type(qtbot, dialog.edits[MP]["name"], "bikeshop")
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, dialog, "Save")
    assert dialog.isVisible()
    assert _shown(dialog) == {"api_url": "Type the marketplace's address (https://…)"}


# ----------------------------------------------------------------------------- test connection


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_store_is_reported_in_staff_words(qtbot, qloop, tmp_path, data_dir) -> None:
    secrets = StaticSecrets()
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), secrets, connection_tester(secrets, data_dir))
    dialog.add_account(JS)
    _type(qtbot, dialog.edits[JS]["name"], "shop")
    _type(qtbot, dialog.edits[JS]["login"], "shop")
    _type(qtbot, dialog.edits[JS]["api_url"], f"http://127.0.0.1:{_closed_port()}/v1")
    _type(qtbot, dialog.edits[JS]["token"], "tok")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_test is not None, timeout=20000)
    assert dialog.test_result.text() == (
        "Can't reach the store. Check the address, and that this computer is connected to the internet."
    )
    assert tones(dialog.palette()).error_text in dialog.test_result.styleSheet()
    assert secrets.values == {}


def test_test_connection_asks_for_the_fields_first(qtbot, qloop, tmp_path) -> None:
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), StaticSecrets(), add="jumpseller")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text() == "Fix the fields marked in red first.")
    assert set(_shown(dialog)) == {"name", "login"}


# ----------------------------------------------------------------------------- looks


@pytest.mark.parametrize("palette", [light_palette, dark_palette], ids=["light", "dark"])
def test_every_field_and_message_fits_at_the_default_size(qtbot, tmp_path, palette) -> None:
    store = JumpsellerAccount("demo-store", "demo")
    dialog = _dialog(qtbot, Config(jumpseller=(store,), path=tmp_path / "c.toml"), StaticSecrets())
    dialog.setPalette(palette())
    dialog.add_account(JS)
    assert dialog.save() is None  # every problem of the new store shows
    QApplication.processEvents()
    dialog.grab().save(str(tmp_path / f"accounts-{palette.__name__}.png"))

    scroll = dialog.forms.currentWidget()
    assert isinstance(scroll, QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible()
    viewport = scroll.viewport()
    for kind in (JS,):
        for key, edit in dialog.edits[kind].items():
            if not edit.isVisible():
                continue
            right = edit.mapTo(viewport, QPoint(edit.width(), 0)).x()
            assert right <= viewport.width(), key
            label = next(lb for lb in dialog.findChildren(QLabel) if lb.buddy() is edit)
            middle = label.mapTo(viewport, QPoint(0, label.height() // 2)).y()
            assert abs(middle - edit.mapTo(viewport, QPoint(0, edit.height() // 2)).y()) <= 2, key
            message = dialog.messages[kind][key]
            if message.isVisible():
                assert message.mapTo(viewport, QPoint(message.width(), 0)).x() <= viewport.width(), key
                assert message.height() >= message.heightForWidth(message.width()), key
    t = tones(dialog.palette())
    assert t.error_text in dialog.messages[JS]["name"].styleSheet()
