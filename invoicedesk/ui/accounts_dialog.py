"""Accounts: add, edit and remove Jumpseller stores and Marketplacer sellers, and set up the
team database (:mod:`~invoicedesk.ui.team_page`, a second tab).

The dialog edits drafts and checks them with :func:`invoicedesk.config.parse_config`, so the
rules and the sentences are exactly those of the configuration file staff might edit by hand.
Secrets (API token, hooks token, API key, HTTP Basic password, the team database's password)
never go into the file: they are written to the secret source (the OS keyring in the app) on
Save. "Test connection" tries
the account as typed, secrets included, before anything is saved.

Non-modal, shown with ``open()``: "Test connection" awaits the network inside the qasync
loop, which a nested ``exec()`` loop would break.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from invoicedesk.config import (
    DEFAULT_JUMPSELLER_API,
    Account,
    Config,
    SecretSource,
    save_config,
)
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.paths import default_config_path
from invoicedesk.services import ConnectionState
from invoicedesk.ui.account_drafts import (
    FIELDS,
    JS,
    KEY_IN_ERROR,
    KIND_TITLES,
    MP,
    Draft,
    Field,
    TeamTester,
    Tester,
    check,
    config_data,
    config_fields,
    connection_tester,
    secret_fields,
)
from invoicedesk.ui.account_drafts import team_tester as default_team_tester
from invoicedesk.ui.icons import icon
from invoicedesk.ui.palette import tones
from invoicedesk.ui.team_page import TeamPage

log = logging.getLogger(__name__)

__all__ = ["AccountsDialog", "Tester", "connection_tester"]

def _kind_icon(kind: str) -> QIcon:
    return icon("jumpseller" if kind == JS else "marketplacer")


class AccountsDialog(QDialog):
    """Edits the configured accounts; ``saved`` carries the new :class:`Config` after Save."""

    saved = Signal(Config)

    def __init__(
        self,
        config: Config,
        secrets: SecretSource,
        tester: Tester,
        parent: QWidget | None = None,
        *,
        team_tester: TeamTester | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.secrets = secrets
        self.tester = tester
        self.team_tester = team_tester or default_team_tester(secrets)
        self.drafts: list[Draft] = [Draft.of(a) for a in config.accounts]
        self.dirty = False
        self._loading = False
        self.last_test: ConnectionState | None = None
        self._bad_field: tuple[str, str] | None = None  # (kind, key) of the field an error names
        self._test_ok: bool | None = None  # how the connection test result is coloured

        self.setObjectName("accountsDialog")
        self.setWindowTitle("Accounts")
        self.setWindowIcon(icon("accounts"))
        self.setModal(False)
        self.resize(760, 520)

        outer = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("accountsTabs")
        outer.addWidget(self.tabs, 1)
        accounts_page = QWidget()
        accounts_page.setObjectName("accountsPage")
        page = QVBoxLayout(accounts_page)
        intro = QLabel(
            "Jumpseller stores and Marketplacer sellers InvoiceDesk works with. "
            "Tokens, keys and passwords are kept in the system keyring, never in the configuration file."
        )
        intro.setWordWrap(True)
        page.addWidget(intro)

        body = QHBoxLayout()
        left = QVBoxLayout()
        self.account_list = QListWidget()
        self.account_list.setObjectName("accountList")
        self.account_list.setAccessibleName("Accounts")
        self.account_list.setMinimumWidth(200)
        self.account_list.currentRowChanged.connect(self._select)
        left.addWidget(self.account_list)
        self.add_store_button = QPushButton(icon("jumpseller"), "Add store")
        self.add_store_button.setObjectName("addStoreButton")
        self.add_store_button.clicked.connect(lambda: self.add_account(JS))
        self.add_seller_button = QPushButton(icon("marketplacer"), "Add seller")
        self.add_seller_button.setObjectName("addSellerButton")
        self.add_seller_button.clicked.connect(lambda: self.add_account(MP))
        adds = QHBoxLayout()
        adds.addWidget(self.add_store_button)
        adds.addWidget(self.add_seller_button)
        left.addLayout(adds)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeButton")
        self.remove_button.clicked.connect(self.remove_current)
        left.addWidget(self.remove_button)
        body.addLayout(left, 0)

        right = QVBoxLayout()
        self.forms = QStackedWidget()
        self.forms.setObjectName("accountForms")
        empty = QLabel("Select an account on the left, or add a store or a seller.")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setWordWrap(True)
        self.forms.addWidget(empty)
        self.edits: dict[str, dict[str, QLineEdit]] = {}
        self.form_boxes: dict[str, QGroupBox] = {}
        for kind in (JS, MP):
            self.forms.addWidget(self._build_form(kind))
        right.addWidget(self.forms, 1)

        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setContentsMargins(8, 6, 8, 6)
        self.error_label.setAccessibleName("Problem with the accounts")
        self.error_label.hide()
        right.addWidget(self.error_label)

        self.secret_hint = QLabel()
        self.secret_hint.setObjectName("secretHint")
        self.secret_hint.setWordWrap(True)
        right.addWidget(self.secret_hint)

        test_row = QHBoxLayout()
        self.test_button = QPushButton(icon("online"), "Test connection")
        self.test_button.setObjectName("testButton")
        self.test_button.clicked.connect(self.test_connection)
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_result.setAccessibleName("Connection test result")
        test_row.addWidget(self.test_result, 1)
        right.addLayout(test_row)
        body.addLayout(right, 1)
        page.addLayout(body, 1)
        self.tabs.addTab(accounts_page, "Stores and sellers")

        self.team_page = TeamPage(config.team, secrets, self.team_tester)
        self.team_page.changed.connect(self._changed)
        self.tabs.addTab(self.team_page, "Team database")

        bottom = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("saveStatus")
        self.status.setWordWrap(True)
        bottom.addWidget(self.status, 1)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("saveButton")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        bottom.addWidget(self.save_button)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("closeButton")
        self.close_button.clicked.connect(self.reject)
        bottom.addWidget(self.close_button)
        outer.addLayout(bottom)
        self._apply_tones()

        for draft in self.drafts:
            self.account_list.addItem(self._list_item(draft))
        if self.drafts:
            self.account_list.setCurrentRow(0)
        self._select(self.account_list.currentRow())
        self.validate()

    # ------------------------------------------------------------------ building

    def _build_form(self, kind: str) -> QWidget:
        box = QGroupBox(KIND_TITLES[kind])
        box.setObjectName(f"{kind}Form")
        box.setAccessibleName(KIND_TITLES[kind])
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        edits: dict[str, QLineEdit] = {}
        prefix = "js" if kind == JS else "mp"
        for f in FIELDS[kind]:
            edit = QLineEdit()
            edit.setObjectName(f"{prefix}_{f.key}")
            edit.setAccessibleName(f.label)
            edit.setToolTip(f.help)
            if f.secret_key_attr:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
                edit.textChanged.connect(lambda text, key=f.key: self._secret_edited(key, text))
            else:
                edit.setPlaceholderText(f.placeholder)
                edit.textChanged.connect(lambda text, key=f.key: self._field_edited(key, text))
            edits[f.key] = edit
            form.addRow(f"{f.label}:", edit)
        self.edits[kind] = edits
        self.form_boxes[kind] = box
        return box

    def _list_item(self, draft: Draft) -> QListWidgetItem:
        item = QListWidgetItem()
        self._label_item(item, draft)
        return item

    def _label_item(self, item: QListWidgetItem, draft: Draft) -> None:
        name = draft.fields.get("name", "").strip() or "(new, unnamed)"
        item.setText(name)
        item.setIcon(_kind_icon(draft.kind))
        item.setToolTip(KIND_TITLES[draft.kind])

    # ------------------------------------------------------------------ editing

    @property
    def current(self) -> Draft | None:
        row = self.account_list.currentRow()
        return self.drafts[row] if 0 <= row < len(self.drafts) else None

    def add_account(self, kind: str) -> Draft:
        """A new, empty store or seller, selected with the cursor in its name field."""
        fields = {f.key: "" for f in config_fields(kind)}
        if kind == JS:
            fields["api_url"] = DEFAULT_JUMPSELLER_API
        else:
            fields["currency"] = "AUD"
        draft = Draft(kind, fields)
        self.drafts.append(draft)
        self.account_list.addItem(self._list_item(draft))
        self.account_list.setCurrentRow(len(self.drafts) - 1)
        self._changed()
        self.edits[kind]["name"].setFocus()
        return draft

    def remove_current(self) -> None:
        row = self.account_list.currentRow()
        if not 0 <= row < len(self.drafts):
            return
        del self.drafts[row]
        self.account_list.takeItem(row)
        self._changed()
        self._select(self.account_list.currentRow())

    def _select(self, row: int) -> None:
        draft = self.drafts[row] if 0 <= row < len(self.drafts) else None
        self.remove_button.setEnabled(draft is not None)
        self.test_button.setEnabled(draft is not None)
        self.test_result.clear()
        if draft is None:
            self.forms.setCurrentIndex(0)
            self.secret_hint.clear()
            return
        self._loading = True
        try:
            for key, edit in self.edits[draft.kind].items():
                if key in draft.fields:
                    edit.setText(draft.fields[key])
                else:
                    edit.setText(draft.secrets.get(key, ""))
        finally:
            self._loading = False
        self.forms.setCurrentIndex(1 if draft.kind == JS else 2)
        self._update_secret_placeholders(draft)
        self.validate()

    def _field_edited(self, key: str, text: str) -> None:
        draft = self.current
        if self._loading or draft is None:
            return
        draft.fields[key] = text
        if key == "name":
            item = self.account_list.currentItem()
            if item is not None:
                self._label_item(item, draft)
        self._changed()
        self._update_secret_placeholders(draft)

    def _secret_edited(self, key: str, text: str) -> None:
        draft = self.current
        if self._loading or draft is None:
            return
        if text.strip():
            draft.secrets[key] = text.strip()
        else:
            draft.secrets.pop(key, None)
        self._changed()
        self._update_secret_placeholders(draft)

    def _changed(self) -> None:
        self.dirty = True
        self.status.setText("Unsaved changes.")
        self.validate()

    # ------------------------------------------------------------------ secrets

    def _stored(self, draft: Draft, f: Field) -> str:
        """Where the secret ``f`` of ``draft`` would come from now, without showing it."""
        env_name = draft.fields.get(f"{f.key}_env", "").strip()
        if env_name and os.environ.get(env_name):
            return f"from ${env_name}"
        if draft.original is not None:
            try:
                if self.secrets.get(getattr(draft.original, f.secret_key_attr)):
                    return "saved in the keyring"
            except InvoiceDeskError:
                return ""
        return ""

    def _update_secret_placeholders(self, draft: Draft) -> None:
        missing = []
        for f in secret_fields(draft.kind):
            edit = self.edits[draft.kind][f.key]
            stored = self._stored(draft, f)
            edit.setPlaceholderText(f"{stored.capitalize()}; type to replace" if stored else "Not stored yet")
            needed = f.key in ("token", "api_key") or (
                f.key == "basic_password" and draft.fields.get("basic_user", "").strip()
            )
            if needed and not stored and f.key not in draft.secrets:
                missing.append(f.label)
        self.secret_hint.setText(
            f"No {' and no '.join(missing)} yet: type it above (kept in the keyring) "
            "or name an environment variable."
            if missing
            else ""
        )
        self.secret_hint.setVisible(bool(missing))

    # ------------------------------------------------------------------ validation

    def _check(self, drafts: list[Draft]) -> tuple[Config | None, str]:
        return check(config_data(drafts, auto_sync_minutes=self.config.auto_sync_minutes))

    def validate(self) -> Config | None:
        """The configuration the drafts make, or ``None`` with the config's own sentence shown.

        The selected account's problem is shown first; every account with a problem gets the
        warning icon in the list.
        """
        first_error = ""
        current_error = ""
        for row, draft in enumerate(self.drafts):
            _, error = self._check([draft])
            item = self.account_list.item(row)
            if item is not None:
                item.setIcon(icon("warning") if error else _kind_icon(draft.kind))
            if error and not first_error:
                first_error = error
            if error and draft is self.current:
                current_error = error
        config, whole_error = self._check(self.drafts)
        message = current_error or first_error or whole_error
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self._mark_field(current_error or (whole_error if "account name" in whole_error else ""))
        _, team_error = self.team_page.validate()
        team_tab = self.tabs.indexOf(self.team_page)
        self.tabs.setTabIcon(team_tab, icon("warning") if team_error else QIcon())
        self.tabs.setTabToolTip(team_tab, team_error)
        if config is None or message or team_error:
            self.save_button.setEnabled(False)
            return None
        # The accounts and the team database together, as the file will hold them.
        whole, _ = check(
            config_data(
                self.drafts, team=self.team_page.draft, auto_sync_minutes=self.config.auto_sync_minutes
            )
        )
        self.save_button.setEnabled(whole is not None)
        return whole

    def _mark_field(self, error: str) -> None:
        draft = self.current
        key = ""
        if error:
            match = KEY_IN_ERROR.search(error)
            key = match.group(1) if match else ("name" if "account name" in error else "")
        self._bad_field = (draft.kind, key) if draft is not None and key else None
        self._paint_fields()

    def _paint_fields(self) -> None:
        """A red border on the field the error names, none on the others."""
        border = f"QLineEdit {{ border: 1px solid {tones(self.palette()).error_text}; }}"
        for kind, edits in self.edits.items():
            for k, edit in edits.items():
                edit.setStyleSheet(border if (kind, k) == self._bad_field else "")

    # ------------------------------------------------------------------ colours

    def _apply_tones(self) -> None:
        """Colour the error box, the secrets hint, the test result and a marked field from the
        palette in use now (light colours would stay light on a dark palette)."""
        t = tones(self.palette())
        self.error_label.setStyleSheet(
            f"QLabel {{ background: {t.error_bg}; color: {t.error_fg}; border-radius: 3px; }}"
        )
        self.secret_hint.setStyleSheet(f"QLabel {{ color: {t.warning_text}; }}")
        colour = {True: t.success_text, False: t.error_text, None: "palette(text)"}[self._test_ok]
        self.test_result.setStyleSheet(f"QLabel {{ color: {colour}; }}")
        self._paint_fields()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and hasattr(
            self, "test_result"
        ):
            self._apply_tones()

    # ------------------------------------------------------------------ test connection

    def _overlay(self, draft: Draft, account: Account) -> dict[str, str]:
        """Secrets typed for ``draft``, under the keys ``account`` (its name as typed) uses."""
        overlay: dict[str, str] = {}
        for f in secret_fields(draft.kind):
            key = getattr(account, f.secret_key_attr)
            if f.key in draft.secrets:
                overlay[key] = draft.secrets[f.key]
            elif draft.original is not None and draft.original.name != account.name:
                old = self.secrets.get(getattr(draft.original, f.secret_key_attr))
                if old:  # renamed and not retyped: the secret saved under the old name
                    overlay[key] = old
        return overlay

    def _show_test(self, text: str, ok: bool | None) -> None:
        self._test_ok = ok
        self._apply_tones()
        self.test_result.setText(text)

    @asyncSlot()  # type: ignore[untyped-decorator]
    async def test_connection(self) -> None:
        """Try the selected account exactly as typed; the answer appears beside the button."""
        draft = self.current
        if draft is None:
            return
        config, error = self._check([draft])
        if config is None:
            self._show_test(error, False)
            return
        account = config.accounts[0]
        overlay = self._overlay(draft, account)
        self.test_button.setEnabled(False)
        self._show_test(f"Testing {account.name}…", None)
        try:
            state = await self.tester(account, overlay)
        except InvoiceDeskError as exc:
            state = ConnectionState(account.name, account.source, False, str(exc))
        except Exception as exc:  # never let a bug in a tester escape a button
            log.exception("Connection test failed")
            state = ConnectionState(account.name, account.source, False, f"Test failed: {type(exc).__name__}")
        finally:
            self.test_button.setEnabled(self.current is not None)
        self.last_test = state
        if draft is not self.current:
            return  # staff moved on to another account; this answer is not about what they see
        if state.ok:
            text = state.message if state.message.startswith("Connected") else f"Connected: {state.message}"
            self._show_test(text, True)
        else:
            self._show_test(state.message, False)

    # ------------------------------------------------------------------ saving

    def target_path(self) -> Path:
        return self.config.path or default_config_path()

    def save(self) -> Config | None:
        """Secrets to the secret source, then the file (atomically); ``saved`` on success."""
        config = self.validate()
        if config is None:
            return None
        path = self.target_path()
        # parse_config keeps each kind in draft order, so drafts and accounts pair up by position.
        pairs: list[tuple[Draft, Account]] = []
        pairs += zip([d for d in self.drafts if d.kind == JS], config.jumpseller, strict=True)
        pairs += zip([d for d in self.drafts if d.kind == MP], config.marketplacer, strict=True)
        try:
            for draft, account in pairs:
                for key, value in self._overlay(draft, account).items():
                    self.secrets.set(key, value)
            for key, value in self.team_page.overlay().items():
                self.secrets.set(key, value)
        except InvoiceDeskError as exc:
            self._fail(str(exc))
            return None
        config = replace(config, path=path)
        try:
            save_config(config, path)
        except OSError as exc:
            self._fail(f"Could not write {path}: {exc.strerror or type(exc).__name__}.")
            return None
        for draft, account in pairs:
            draft.original = account
            draft.secrets.clear()
        self.team_page.after_save(config.team)
        self.config = config
        self.dirty = False
        self.status.setText(f"Saved to {path}.")
        self._select(self.account_list.currentRow())
        self.saved.emit(config)
        return config

    def _fail(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self.status.setText("Not saved.")

    # ------------------------------------------------------------------ showing

    def open(self) -> None:
        """Show without blocking the main window (Qt's ``open()`` would make it window-modal)."""
        self.setResult(0)
        self.show()
