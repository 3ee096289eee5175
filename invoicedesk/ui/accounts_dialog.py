"""Accounts: add, edit and remove Jumpseller stores and Marketplacer sellers, and set up the
team database (:mod:`~invoicedesk.ui.team_page`, a second tab).

The dialog edits drafts (:mod:`~invoicedesk.ui.account_drafts`). What is wrong with a field is
said in staff words right under that field ("Give the store a name"), once the field has been
edited and left, or once Save was pressed; never on a form nobody has typed in yet. The rules
are the configuration file's, so what the dialog accepts the file accepts.

Secrets (API token, hooks token, API key, staging password, the team database's password) never
go into the file: they are written to the secret source (the OS keyring in the app) on Save, and
an account removed or renamed takes its old keyring entries with it. Environment variables for
headless use sit under "Advanced". "Test connection" tries the account as typed, secrets
included, before anything is saved.

Non-modal, shown with ``open()``: "Test connection" awaits the network inside the qasync loop,
which a nested ``exec()`` loop would break; the questions (Remove? Unsaved changes?) are
message boxes shown with ``open()`` too, answered through their signals.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from invoicedesk.config import (
    Account,
    Config,
    SecretSource,
    TeamConfig,
    save_config,
)
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.paths import default_config_path
from invoicedesk.services import ConnectionState
from invoicedesk.ui.account_drafts import (
    FIELDS,
    JS,
    KIND_TITLES,
    KIND_WORDS,
    MP,
    Draft,
    Field,
    TeamDraft,
    TeamTester,
    Tester,
    check,
    config_data,
    connection_sentence,
    connection_tester,
    plain,
    problems,
    secret_fields,
)
from invoicedesk.ui.account_drafts import team_tester as default_team_tester
from invoicedesk.ui.icons import icon
from invoicedesk.ui.palette import tones
from invoicedesk.ui.team_page import TeamPage, add_test_row

log = logging.getLogger(__name__)

__all__ = ["AccountsDialog", "AddKind", "Tester", "connection_tester"]

AddKind = Literal["jumpseller", "marketplacer"]


def _kind_icon(kind: str) -> QIcon:
    return icon("jumpseller" if kind == JS else "marketplacer")


def _secret_keys(account: Account) -> set[str]:
    """Every keyring key an account may have stored."""
    kind = JS if account.source == "jumpseller" else MP
    return {getattr(account, f.secret_key_attr) for f in secret_fields(kind)}


class AccountsDialog(QDialog):
    """Edits the configured accounts; ``saved`` carries the new :class:`Config` after Save.

    ``add="jumpseller"`` or ``add="marketplacer"`` opens it on a new, empty store or seller,
    the cursor in its name (the welcome screen's "add your first store"); closing without
    typing anything drops that empty account without a question.
    """

    saved = Signal(Config)

    def __init__(
        self,
        config: Config,
        secrets: SecretSource,
        tester: Tester,
        parent: QWidget | None = None,
        *,
        team_tester: TeamTester | None = None,
        add: AddKind | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.secrets = secrets
        self.tester = tester
        self.team_tester = team_tester or default_team_tester(secrets)
        self.drafts: list[Draft] = [Draft.of(a) for a in config.accounts]
        self.revealed = False  # Save was pressed: every problem shows, touched or not
        self._loading = False
        self.last_test: ConnectionState | None = None
        self._test_ok: bool | None = None  # how the connection test result is coloured
        self.question: QMessageBox | None = None  # the question being asked, if any
        self._in_keyring: dict[str, bool] = {}  # keyring key → something stored (until Save)

        self.setObjectName("accountsDialog")
        self.setWindowTitle("Accounts")
        self.setWindowIcon(icon("accounts"))
        self.setModal(False)
        self.resize(760, 560)

        outer = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("accountsTabs")
        outer.addWidget(self.tabs, 1)
        accounts_page = QWidget()
        accounts_page.setObjectName("accountsPage")
        page = QVBoxLayout(accounts_page)
        intro = QLabel(
            "The Jumpseller stores and Marketplacer sellers InvoiceDesk works with. Tokens, keys "
            "and passwords are kept in the system keyring, never in the configuration file."
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
        self.add_store_button.setAutoDefault(False)
        self.add_store_button.clicked.connect(lambda: self.add_account(JS))
        self.add_seller_button = QPushButton(icon("marketplacer"), "Add seller")
        self.add_seller_button.setObjectName("addSellerButton")
        self.add_seller_button.setAutoDefault(False)
        self.add_seller_button.clicked.connect(lambda: self.add_account(MP))
        adds = QHBoxLayout()
        adds.addWidget(self.add_store_button)
        adds.addWidget(self.add_seller_button)
        left.addLayout(adds)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setObjectName("removeButton")
        self.remove_button.setAutoDefault(False)
        self.remove_button.clicked.connect(self.ask_remove)
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
        self.messages: dict[str, dict[str, QLabel]] = {}
        self.show_buttons: dict[str, dict[str, QToolButton]] = {}
        self.advanced_buttons: dict[str, QToolButton] = {}
        self._rows: dict[str, dict[str, QWidget]] = {}
        self._forms: dict[str, QFormLayout] = {}
        self._advanced_notes: dict[str, QLabel] = {}
        self.form_boxes: dict[str, QGroupBox] = {}
        for kind in (JS, MP):
            scroll = QScrollArea()
            scroll.setObjectName(f"{kind}Scroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            holder = QWidget()
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(self._build_form(kind))
            column.addStretch(1)
            scroll.setWidget(holder)
            self.forms.addWidget(scroll)
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
        self.secret_hint.hide()
        right.addWidget(self.secret_hint)

        self.test_button, self.test_result = add_test_row(
            right,
            "Test connection",
            "Try this account as typed, without saving anything",
            "Connection test result",
            names=("testButton", "testResult"),
        )
        self.test_button.clicked.connect(self.test_connection)
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
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        bottom.addWidget(self.close_button)
        outer.addLayout(bottom)
        self._apply_tones()

        for draft in self.drafts:
            self.account_list.addItem(self._list_item(draft))
        if self.drafts:
            self.account_list.setCurrentRow(0)
        self._select(self.account_list.currentRow())
        if add is not None:
            self.add_account(add)
        self.refresh()

    # ------------------------------------------------------------------ building

    def _build_form(self, kind: str) -> QWidget:
        box = QGroupBox(KIND_TITLES[kind])
        box.setObjectName(f"{kind}Form")
        box.setAccessibleName(KIND_TITLES[kind])
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        prefix = "js" if kind == JS else "mp"
        self.edits[kind], self.messages[kind], self.show_buttons[kind], self._rows[kind] = {}, {}, {}, {}
        main = [f for f in FIELDS[kind] if not f.advanced]
        advanced = [f for f in FIELDS[kind] if f.advanced]
        for f in main:
            self._add_row(form, kind, prefix, f)

        # Staging sites and headless use: out of the way unless this account uses them.
        button = QToolButton()
        button.setObjectName(f"{prefix}_advancedButton")
        button.setText("Advanced")
        button.setToolTip(
            "Environment variables for running without a desktop"
            + (", and a staging site's password" if kind == MP else "")
        )
        button.setCheckable(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setAutoRaise(True)
        button.setArrowType(Qt.ArrowType.RightArrow)
        button.toggled.connect(lambda shown, kind=kind: self._show_advanced(kind, shown))
        self.advanced_buttons[kind] = button
        form.addRow(button)
        note = QLabel(
            ("A staging site's login, and e" if kind == MP else "E")
            + "nvironment variables for running InvoiceDesk without a desktop (scripts, servers): "
            "a variable named here, when set, is used instead of the keyring."
        )
        note.setObjectName(f"{prefix}_advancedNote")
        note.setWordWrap(True)
        form.addRow(note)
        self._advanced_notes[kind] = note
        for f in advanced:
            self._add_row(form, kind, prefix, f)
        self._forms[kind] = form
        self.form_boxes[kind] = box
        self._show_advanced(kind, False)
        return box

    def _add_row(self, form: QFormLayout, kind: str, prefix: str, f: Field) -> None:
        """A label beside its field, level with the line edit even when a message shows under it."""
        holder = self._field_widget(kind, prefix, f)
        label = QLabel(f"{f.label}:")
        label.setBuddy(self.edits[kind][f.key])
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        label.setFixedHeight(self.edits[kind][f.key].sizeHint().height())
        form.addRow(label, holder)

    def _field_widget(self, kind: str, prefix: str, f: Field) -> QWidget:
        """The line edit, a Show toggle for a secret, and the line under it that says what is wrong."""
        holder = QWidget()
        holder.setObjectName(f"{prefix}_{f.key}_row")
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        line = QHBoxLayout()
        line.setSpacing(4)
        edit = QLineEdit()
        edit.setObjectName(f"{prefix}_{f.key}")
        edit.setAccessibleName(f.label)
        edit.setToolTip(f.help)
        line.addWidget(edit, 1)
        if f.secret_key_attr:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.textChanged.connect(lambda text, key=f.key: self._secret_edited(key, text))
            show = QToolButton()
            show.setObjectName(f"{prefix}_{f.key}_show")
            show.setText("Show")
            show.setCheckable(True)
            show.setToolTip(f"Show the {f.label.lower()} as typed")
            show.setAccessibleName(f"Show {f.label}")
            show.toggled.connect(lambda shown, edit=edit, b=show: self._reveal_secret(edit, b, shown))
            line.addWidget(show)
            self.show_buttons[kind][f.key] = show
        else:
            edit.setPlaceholderText(f.placeholder)
            edit.textChanged.connect(lambda text, key=f.key: self._field_edited(key, text))
        edit.editingFinished.connect(lambda key=f.key: self._touched(key))
        column.addLayout(line)
        message = QLabel()
        message.setObjectName(f"{prefix}_{f.key}_problem")
        message.setWordWrap(True)
        message.setAccessibleName(f"Problem with {f.label}")
        message.hide()
        column.addWidget(message)
        self.edits[kind][f.key] = edit
        self.messages[kind][f.key] = message
        self._rows[kind][f.key] = holder
        return holder

    @staticmethod
    def _reveal_secret(edit: QLineEdit, button: QToolButton, shown: bool) -> None:
        edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        button.setText("Hide" if shown else "Show")

    def _show_advanced(self, kind: str, shown: bool) -> None:
        button = self.advanced_buttons[kind]
        button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if button.isChecked() != shown:
            button.setChecked(shown)
        self._forms[kind].setRowVisible(self._advanced_notes[kind], shown)
        for f in FIELDS[kind]:
            if f.advanced:
                self._forms[kind].setRowVisible(self._rows[kind][f.key], shown)

    def _list_item(self, draft: Draft) -> QListWidgetItem:
        item = QListWidgetItem()
        self._label_item(item, draft, False)
        return item

    def _label_item(self, item: QListWidgetItem, draft: Draft, wrong: bool) -> None:
        item.setText(draft.name or f"New {KIND_WORDS[draft.kind]} (no name yet)")
        item.setIcon(icon("warning") if wrong else _kind_icon(draft.kind))
        item.setToolTip(
            f"{KIND_TITLES[draft.kind]}: some fields need fixing" if wrong else KIND_TITLES[draft.kind]
        )

    # ------------------------------------------------------------------ editing

    @property
    def current(self) -> Draft | None:
        row = self.account_list.currentRow()
        return self.drafts[row] if 0 <= row < len(self.drafts) else None

    def add_account(self, kind: str) -> Draft:
        """A new, empty store or seller, selected with the cursor in its name field."""
        draft = Draft.new(kind)
        self.drafts.append(draft)
        self.account_list.addItem(self._list_item(draft))
        self.tabs.setCurrentIndex(0)
        self.account_list.setCurrentRow(len(self.drafts) - 1)
        self._changed()
        self.edits[kind]["name"].setFocus()
        return draft

    def ask_remove(self) -> None:
        """Remove asks first, saying what removing does; the answer comes through ``question``."""
        draft = self.current
        if draft is None:
            return
        word = KIND_WORDS[draft.kind]
        if draft.original is None:
            text = f"Remove this new {word}?"
            detail = "Nothing was saved for it yet."
        else:
            records = "orders" if draft.kind == JS else "invoices"
            secrets = "API token and hooks token" if draft.kind == JS else "API key and staging site password"
            text = f'Remove the {word} "{draft.original.name}"?'
            detail = (
                f"InvoiceDesk stops syncing it and can no longer act on its {records}. The {records} "
                f"already downloaded stay in the list (adding the {word} again brings them up to "
                f"date). Its {secrets} are deleted from the system keyring when you save."
            )
        self._ask(
            "Remove account",
            text,
            detail,
            [
                ("Remove", QMessageBox.ButtonRole.DestructiveRole),
                ("Cancel", QMessageBox.ButtonRole.RejectRole),
            ],
            lambda answer: self._remove(draft) if answer == "Remove" else None,
        )

    def _row_of(self, draft: Draft) -> int:
        """The list row of ``draft`` itself (two new, empty drafts are equal, not the same)."""
        return next((row for row, d in enumerate(self.drafts) if d is draft), -1)

    def _remove(self, draft: Draft) -> None:
        row = self._row_of(draft)
        if row < 0:
            return
        del self.drafts[row]
        self.account_list.takeItem(row)
        self._changed()
        self._select(self.account_list.currentRow())

    def _select(self, row: int) -> None:
        draft = self.drafts[row] if 0 <= row < len(self.drafts) else None
        self.remove_button.setEnabled(draft is not None)
        self.test_button.setEnabled(draft is not None)
        self._show_test("", None)
        if draft is None:
            self.forms.setCurrentIndex(0)
            self.refresh()
            return
        self._loading = True
        try:
            for key, edit in self.edits[draft.kind].items():
                if key in draft.fields:
                    edit.setText(draft.fields[key])
                else:
                    edit.setText(draft.secrets.get(key, ""))
            for button in self.show_buttons[draft.kind].values():
                button.setChecked(False)
        finally:
            self._loading = False
        self.forms.setCurrentIndex(1 if draft.kind == JS else 2)
        used = any(
            draft.fields.get(f.key, "").strip() or f.key in draft.secrets
            for f in FIELDS[draft.kind]
            if f.advanced
        )
        self._show_advanced(draft.kind, used)
        self.refresh()

    def _field_edited(self, key: str, text: str) -> None:
        draft = self.current
        if self._loading or draft is None:
            return
        draft.fields[key] = text
        self._changed()

    def _secret_edited(self, key: str, text: str) -> None:
        draft = self.current
        if self._loading or draft is None:
            return
        if text.strip():
            draft.secrets[key] = text.strip()
        else:
            draft.secrets.pop(key, None)
        self._changed()

    def _touched(self, key: str) -> None:
        """A field was edited and left: from now on its problem, if any, shows."""
        draft = self.current
        if self._loading or draft is None:
            return
        if self.edits[draft.kind][key].isModified():
            draft.touched.add(key)
            self.refresh()

    def _changed(self) -> None:
        self.refresh()

    # ------------------------------------------------------------------ unsaved changes

    def unsaved(self) -> bool:
        """Would Save change anything? A new account nobody typed in does not count."""
        drafts = [d for d in self.drafts if not d.blank]
        now = config_data(drafts, team=self.team_page.draft)
        before = config_data([Draft.of(a) for a in self.config.accounts], team=TeamDraft.of(self.config.team))
        typed = any(d.secrets for d in drafts) or bool(self.team_page.draft.password)
        return typed or now != before

    # ------------------------------------------------------------------ secrets

    def _stored(self, draft: Draft, f: Field) -> str:
        """Where the secret ``f`` of ``draft`` would come from now, without showing it."""
        env_name = draft.fields.get(f"{f.key}_env", "").strip()
        if env_name and os.environ.get(env_name):
            return f"from ${env_name}"
        if draft.original is not None:
            key = getattr(draft.original, f.secret_key_attr)
            if key not in self._in_keyring:  # asked once: a keyring call per keystroke is slow
                try:
                    self._in_keyring[key] = bool(self.secrets.get(key))
                except InvoiceDeskError:
                    self._in_keyring[key] = False
            if self._in_keyring[key]:
                return "saved in the keyring"
        return ""

    def _update_secret_hint(self, draft: Draft) -> None:
        missing = []
        for f in secret_fields(draft.kind):
            edit = self.edits[draft.kind][f.key]
            stored = self._stored(draft, f)
            edit.setPlaceholderText(f"{stored.capitalize()}; type to replace" if stored else "Not saved yet")
            needed = f.key in ("token", "api_key") or (
                f.key == "basic_password" and draft.fields.get("basic_user", "").strip()
            )
            if needed and not stored and f.key not in draft.secrets:
                missing.append(f.label)
        # Said once it helps: for a saved account, or once staff reached the field or pressed Save.
        asked = draft.original is not None or self.revealed or bool(draft.touched & {"token", "api_key"})
        text = (
            f"No {' and no '.join(missing)} yet: type it above (kept in the keyring), or name an "
            "environment variable under Advanced."
            if missing and asked
            else ""
        )
        self.secret_hint.setText(text)
        self.secret_hint.setVisible(bool(text))

    # ------------------------------------------------------------------ validation

    def shown_problems(self, draft: Draft) -> dict[str, str]:
        """The problems of ``draft`` staff should see now: of fields edited and left, or all
        of them once Save was pressed."""
        found = problems(draft, self.drafts)
        return {k: m for k, m in found.items() if self.revealed or k in draft.touched}

    def refresh(self) -> None:
        """Show what is wrong where it is wrong: under the field, on the account in the list."""
        for row, draft in enumerate(self.drafts):
            item = self.account_list.item(row)
            if item is not None:
                self._label_item(item, draft, bool(self.shown_problems(draft)))
        current = self.current
        shown = self.shown_problems(current) if current is not None else {}
        for kind, labels in self.messages.items():
            for key, label in labels.items():
                text = shown.get(key, "") if current is not None and current.kind == kind else ""
                label.setText(text)
                label.setVisible(bool(text))
                self.edits[kind][key].setAccessibleDescription(text)
        if current is not None:
            if any(f.advanced and f.key in shown for f in FIELDS[current.kind]):
                self._show_advanced(current.kind, True)
            self._update_secret_hint(current)
        else:
            self.secret_hint.hide()
        self.team_page.validate()
        team_error = self.team_page.shown_error
        team_tab = self.tabs.indexOf(self.team_page)
        self.tabs.setTabIcon(team_tab, icon("warning") if team_error else QIcon())
        self.tabs.setTabToolTip(team_tab, team_error)
        unsaved = self.unsaved()
        # A new account nobody typed in yet: Save says what it needs.
        self.save_button.setEnabled(unsaved or any(d.original is None for d in self.drafts))
        if unsaved:
            self.status.setText("Unsaved changes.")
        elif self.status.text() == "Unsaved changes.":
            self.status.clear()
        self._paint_fields()

    def validate(self) -> Config | None:
        """The configuration the drafts make, or ``None`` while anything is wrong."""
        if any(problems(d, self.drafts) for d in self.drafts):
            return None
        if self.team_page.validate()[1]:
            return None
        return self._whole()[0]

    def _whole(self) -> tuple[Config | None, str]:
        """The accounts and the team database together, as the file will hold them."""
        return check(
            config_data(
                self.drafts, team=self.team_page.draft, auto_sync_minutes=self.config.auto_sync_minutes
            )
        )

    def _paint_fields(self) -> None:
        """A red border on each field whose problem shows, none on the others."""
        t = tones(self.palette())
        border = f"QLineEdit {{ border: 1px solid {t.error_text}; }}"
        words = f"QLabel {{ color: {t.error_text}; }}"
        draft = self.current
        shown = self.shown_problems(draft) if draft is not None else {}
        for kind, edits in self.edits.items():
            for key, edit in edits.items():
                wrong = draft is not None and draft.kind == kind and key in shown
                edit.setStyleSheet(border if wrong else "")
                self.messages[kind][key].setStyleSheet(words)

    # ------------------------------------------------------------------ colours

    def _apply_tones(self) -> None:
        """Colour the error box, the secrets hint, the test result and marked fields from the
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
        draft.touched |= set(draft.fields)
        self.refresh()
        if problems(draft, [draft]):
            self._show_test("Fix the fields marked in red first.", False)
            return
        config, error = check(config_data([draft]))
        if config is None:
            self._show_test(plain(error), False)
            return
        account = config.accounts[0]
        overlay = self._overlay(draft, account)
        self.test_button.setEnabled(False)
        self._show_test(f"Testing {account.name}…", None)
        try:
            state = await self.tester(account, overlay)
        except InvoiceDeskError as exc:
            state = ConnectionState(account.name, account.source, False, connection_sentence(exc, account))
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
        """Secrets to the secret source, then the file (atomically); ``saved`` on success.

        Pressing Save shows every problem; the first account with one is selected.
        """
        self.revealed = True
        self.error_label.hide()
        self.refresh()
        wrong = [d for d in self.drafts if problems(d, self.drafts)]
        if wrong:
            self.tabs.setCurrentIndex(0)
            self.account_list.setCurrentRow(self._row_of(wrong[0]))
            first = next(iter(problems(wrong[0], self.drafts)))
            self.edits[wrong[0].kind][first].setFocus()
            names = len(wrong)
            self.status.setText(
                "Not saved: fix the fields marked in red"
                + (f" ({names} accounts need it)." if names > 1 else ".")
            )
            return None
        self.team_page.reveal()
        self.refresh()
        if self.team_page.error:
            self.tabs.setCurrentWidget(self.team_page)
            self.status.setText("Not saved: fix the team database's address.")
            return None
        config, error = self._whole()
        if config is None:
            self._fail(plain(error))
            return None
        path = self.target_path()
        # parse_config keeps each kind in draft order, so drafts and accounts pair up by position.
        pairs: list[tuple[Draft, Account]] = []
        pairs += zip([d for d in self.drafts if d.kind == JS], config.jumpseller, strict=True)
        pairs += zip([d for d in self.drafts if d.kind == MP], config.marketplacer, strict=True)
        try:
            written: dict[str, str] = {}
            for draft, account in pairs:
                written.update(self._overlay(draft, account))
            written.update(self.team_page.overlay())
            for key, value in written.items():
                self.secrets.set(key, value)
            # What the accounts removed or renamed had in the keyring goes with them.
            kept: set[str] = set()
            for draft, account in pairs:
                if draft.original is not None and draft.original.name == account.name:
                    kept |= _secret_keys(account)
            stale: set[str] = set()
            for account in self.config.accounts:
                stale |= _secret_keys(account)
            if self.config.team is not None and config.team is None:
                stale.add(TeamConfig("").password_key)
            for key in sorted(stale - kept - set(written)):
                self.secrets.delete(key)
        except InvoiceDeskError as exc:
            self._fail(plain(str(exc)))
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
            draft.touched.clear()
        self.revealed = False
        self._in_keyring.clear()
        self.team_page.after_save(config.team)
        self.config = config
        self.status.setText(f"Saved to {path}.")
        self._select(self.account_list.currentRow())
        self.saved.emit(config)
        return config

    def _fail(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self.status.setText("Not saved.")

    # ------------------------------------------------------------------ questions

    def _ask(
        self,
        title: str,
        text: str,
        detail: str,
        buttons: list[tuple[str, QMessageBox.ButtonRole]],
        answered: Callable[[str], None],
    ) -> None:
        """A message box shown with ``open()``; ``answered`` gets the text of the button pressed
        ("" when the box was closed without one)."""
        if self.question is not None:
            self.question.close()
        box = QMessageBox(self)
        box.setObjectName("accountsQuestion")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(text)
        box.setInformativeText(detail)
        # QMessageBox sizes itself on the short question: give the explanation room to read.
        box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 380px; }")
        made = [box.addButton(label, role) for label, role in buttons]
        box.setDefaultButton(made[0])
        box.setEscapeButton(made[-1])
        self.question = box

        def clicked(button: QAbstractButton) -> None:
            if self.question is box:
                self.question = None
            answered(button.text())

        box.buttonClicked.connect(clicked)
        box.finished.connect(box.deleteLater)
        box.open()

    def reject(self) -> None:
        """Close and Esc (and the title bar's close) ask first when something is not saved."""
        if not self.unsaved():
            super().reject()
            return
        self._ask(
            "Unsaved changes",
            "Save the changes to the accounts before closing?",
            "Discard forgets what was typed here, tokens included.",
            [
                ("Save", QMessageBox.ButtonRole.AcceptRole),
                ("Discard", QMessageBox.ButtonRole.DestructiveRole),
                ("Cancel", QMessageBox.ButtonRole.RejectRole),
            ],
            self._closing_answered,
        )

    def _closing_answered(self, answer: str) -> None:
        if answer == "Save":
            if self.save() is not None:
                super().reject()
        elif answer == "Discard":
            super().reject()

    # ------------------------------------------------------------------ showing

    def open(self) -> None:
        """Show without blocking the main window (Qt's ``open()`` would make it window-modal)."""
        self.setResult(0)
        self.show()
