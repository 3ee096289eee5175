"""The Accounts dialog's "Team database" page, as staff use it, against a real PostgreSQL."""

from __future__ import annotations

import tomllib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from invoicedesk.config import (
    Config,
    ConfigError,
    JumpsellerAccount,
    StaticSecrets,
    TeamConfig,
    load_config,
    parse_config,
)
from invoicedesk.ui.accounts_dialog import AccountsDialog
from invoicedesk.ui.palette import tones
from tests.pg_helpers import PASSWORD, PostgresServer, server_bin

BIN = server_bin()
NO_POSTGRES = "PostgreSQL's server binaries (Debian package 'postgresql') are not installed"


async def never(*_args):  # the store tester; these tests never test a store
    raise AssertionError("no store test expected")


@pytest.fixture
def secrets() -> StaticSecrets:
    return StaticSecrets()


def _dialog(qtbot, config: Config, secrets) -> AccountsDialog:
    dialog = AccountsDialog(config, secrets, never)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # focus moves between fields only in the active window
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.tabs.setCurrentWidget(dialog.team_page)
    return dialog


def _type(qtbot, edit: QLineEdit, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)


def _parse_error(url: str) -> str:
    with pytest.raises(ConfigError) as expected:
        parse_config({"team": {"database_url": url}})
    return str(expected.value)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (
            "postgresql://desk:secret@db.shop.lan/invoicedesk?sslmode=require",
            "Leave the password out of the address: type it in the Password field",
        ),
        (
            "postgresql://desk@db.shop.lan:5432/invoicedesk",
            "Add ?sslmode=require at the end: a database on another computer is reached over an "
            "encrypted connection",
        ),
        ("mysql://desk@db.shop.lan/x", "The address must look like postgresql://user@server:5432/database"),
    ],
)
def test_a_team_address_the_file_would_refuse_is_refused_in_staff_words(
    qtbot, tmp_path, secrets, url: str, words: str
) -> None:
    _parse_error(url)  # the file refuses it too
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), secrets)
    page = dialog.team_page
    _type(qtbot, page.edits["database_url"], url)
    assert page.error_label.isHidden()  # still typing: nothing said yet
    assert not page.test_button.isEnabled()
    page.edits["database_url"].setFocus()
    qtbot.keyClick(page.edits["database_url"], Qt.Key.Key_Tab)

    assert page.error_label.text() == words
    assert "configuration" not in page.error_label.text() and "database_url" not in page.error_label.text()
    assert not page.error_label.isHidden()
    assert tones(page.palette()).error_text in page.edits["database_url"].styleSheet()
    assert dialog.tabs.tabToolTip(dialog.tabs.indexOf(page)) == words
    QApplication.processEvents()  # lay out the wrapped sentence before the picture
    dialog.grab().save(str(tmp_path / "team-refused.png"))
    assert dialog.save() is None
    assert not (tmp_path / "config.toml").exists()
    assert "team database" in dialog.status.text()


def test_a_loopback_address_without_tls_passes(qtbot, tmp_path, secrets) -> None:
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), secrets)
    page = dialog.team_page
    assert page.error_label.isHidden() and not page.test_button.isEnabled()  # off: nothing to test
    _type(qtbot, page.edits["database_url"], "postgresql://desk@127.0.0.1:5432/invoicedesk")
    assert page.error_label.isHidden()
    assert page.edits["database_url"].styleSheet() == ""
    assert dialog.save_button.isEnabled() and page.test_button.isEnabled()


def test_saving_writes_team_and_keeps_the_password_in_the_keyring(qtbot, tmp_path, secrets) -> None:
    path = tmp_path / "config.toml"
    dialog = _dialog(qtbot, Config(path=path), secrets)
    page = dialog.team_page
    url = "postgresql://desk@db.shop.lan:5432/invoicedesk?sslmode=require"
    _type(qtbot, page.edits["database_url"], url)
    _type(qtbot, page.edits["password"], "s3cret-team-pw")
    assert not page.edits["password_env"].isVisible()  # an advanced option, out of the way
    qtbot.mouseClick(page.advanced_button, Qt.MouseButton.LeftButton)
    assert page.edits["password_env"].isVisible()
    _type(qtbot, page.edits["password_env"], "SHOP_DB_PW")

    with qtbot.waitSignal(dialog.saved, timeout=2000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    team = TeamConfig(url, "SHOP_DB_PW")
    assert saved.args[0].team == team
    assert load_config(path).team == team
    text = path.read_text(encoding="utf-8")
    assert tomllib.loads(text)["team"] == {"database_url": url, "password_env": "SHOP_DB_PW"}
    assert "s3cret-team-pw" not in text
    assert secrets.values[team.password_key] == "s3cret-team-pw"
    assert page.edits["password"].text() == ""
    assert "keyring" in page.edits["password"].placeholderText()

    # Opened again: the page shows what was saved, the advanced option open since it is used.
    again = _dialog(qtbot, load_config(path), secrets)
    assert again.team_page.edits["database_url"].text() == url
    assert again.team_page.edits["password_env"].isVisible()


def test_saving_the_accounts_keeps_the_team_database(qtbot, tmp_path, secrets) -> None:
    path = tmp_path / "config.toml"
    team = TeamConfig("postgresql://desk@localhost/invoicedesk")
    dialog = _dialog(qtbot, Config(path=path, team=team), secrets)
    dialog.tabs.setCurrentIndex(0)
    dialog.add_account("jumpseller")
    for key, value in {"name": "shop", "login": "shop", "token": "t"}.items():
        _type(qtbot, dialog.edits["jumpseller"][key], value)
    config = dialog.save()
    assert config is not None and config.team == team
    assert load_config(path).team == team
    assert isinstance(load_config(path).account("shop"), JumpsellerAccount)


def test_emptying_the_address_turns_team_mode_off(qtbot, tmp_path, secrets) -> None:
    path = tmp_path / "config.toml"
    team = TeamConfig("postgresql://desk@localhost/db")
    secrets.set(team.password_key, "team-pw")
    dialog = _dialog(qtbot, Config(path=path, team=team), secrets)
    dialog.team_page.edits["database_url"].clear()
    config = dialog.save()
    assert config is not None and config.team is None
    assert "[team]" not in path.read_text(encoding="utf-8")
    assert secrets.values == {}  # the password went with the team database


# ----------------------------------------------------------------------------- Test, for real


@pytest.fixture(scope="module")
def pg():
    if BIN is None:
        pytest.skip(NO_POSTGRES)
    server = PostgresServer(BIN).start()
    yield server
    server.close()


def test_test_connects_to_the_team_database_with_the_typed_password(qtbot, qloop, pg, tmp_path, secrets) -> None:
    dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), secrets)
    page = dialog.team_page
    _type(qtbot, page.edits["database_url"], pg.url)
    _type(qtbot, page.edits["password"], PASSWORD)

    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.test_result.text().startswith("Connected"), timeout=15000)
    assert page.test_result.text() == "Connected: schema version 1, 0 desks seen in the last 10 minutes."
    assert tones(page.palette()).success_text in page.test_result.styleSheet()
    assert page.test_button.isEnabled()
    assert secrets.values == {}  # a test saves nothing
    dialog.grab().save(str(tmp_path / "team-connected.png"))


def test_a_stopped_team_database_is_reported_and_the_dialog_stays_usable(
    qtbot, qloop, tmp_path, secrets
) -> None:
    if BIN is None:
        pytest.skip(NO_POSTGRES)
    server = PostgresServer(BIN).start()
    server.stop()
    try:
        dialog = _dialog(qtbot, Config(path=tmp_path / "config.toml"), secrets)
        page = dialog.team_page
        _type(qtbot, page.edits["database_url"], server.url)
        _type(qtbot, page.edits["password"], PASSWORD)

        qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "cannot be reached" in page.test_result.text(), timeout=15000)
        said = page.test_result.text()
        assert said.startswith(f"The team database (127.0.0.1:{server.port}/invoicedesk) cannot be reached: ")
        assert said.endswith(".") and "Nothing was claimed" not in said  # a test claims nothing
        assert tones(page.palette()).error_text in page.test_result.styleSheet()
        assert page.test_button.isEnabled() and dialog.save_button.isEnabled()
        dialog.grab().save(str(tmp_path / "team-unreachable.png"))
        _type(qtbot, page.edits["database_url"], "postgresql://desk@localhost/other")
        assert page.test_result.text() == ""  # the answer was about the old address
        assert dialog.save() is not None
    finally:
        server.close()
