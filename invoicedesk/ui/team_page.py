"""The Accounts dialog's "Team database" page: the ``[team]`` configuration, in staff words.

Team mode lets several desks work on the same stores without invoicing an order twice: they
share a PostgreSQL database. The page edits a :class:`~invoicedesk.ui.account_drafts.TeamDraft`
(the database address, the password for the keyring, and, as an advanced option, the name of
an environment variable holding the password), checks it with the configuration file's own
rules, says what is wrong in staff words once the address was edited and left (or Save was
pressed), and tries it with **Test**: connect, read the team's status, close, all awaited in the
qasync loop (no nested ``exec()``, nothing blocking the window). The dialog saves it.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from invoicedesk.config import SecretSource, TeamConfig
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.ui.account_drafts import TEAM_FIELDS, TeamDraft, TeamTester
from invoicedesk.ui.icons import icon
from invoicedesk.ui.palette import tones

log = logging.getLogger(__name__)

INTRO = (
    "Team mode lets several desks work on the same stores at once without invoicing an order "
    "twice: they share one PostgreSQL database, which your IT people set up. Leave the address "
    "empty to work on this desk alone. Changes here apply the next time InvoiceDesk starts."
)



def add_test_row(
    layout: QVBoxLayout, text: str, tip: str, result_name: str, *, names: tuple[str, str]
) -> tuple[QPushButton, QLabel]:
    """A "Test" button and the label its answer goes in (selectable, so staff can copy it),
    added to ``layout``: the Accounts dialog and the team page test the same way."""
    row = QHBoxLayout()
    button = QPushButton(icon("online"), text)
    button.setObjectName(names[0])
    button.setAutoDefault(False)
    button.setToolTip(tip)
    row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
    result = QLabel()
    result.setObjectName(names[1])
    result.setWordWrap(True)
    result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    result.setAccessibleName(result_name)
    row.addWidget(result, 1)
    layout.addLayout(row)
    return button, result

class TeamPage(QWidget):
    """Edits the team database settings; ``changed`` after every edit."""

    changed = Signal()

    def __init__(
        self,
        team: TeamConfig | None,
        secrets: SecretSource,
        tester: TeamTester,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("teamPage")
        self.secrets = secrets
        self.tester = tester
        self.draft = TeamDraft.of(team)
        self.error = ""  # what is wrong, in staff words, shown or not
        self.revealed = False  # the address was edited and left, or Save was pressed
        self.last_test = ""
        self._test_ok: bool | None = None
        self._bad_field = ""
        self._testing = False
        self._in_keyring: bool | None = None  # a password saved for this team database (asked once)

        outer = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setObjectName("teamIntro")
        intro.setWordWrap(True)
        outer.addWidget(intro)

        box = QGroupBox("Connection")
        box.setObjectName("teamForm")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.edits: dict[str, QLineEdit] = {}
        for f in TEAM_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"team_{f.key}")
            edit.setAccessibleName(f.label)
            edit.setToolTip(f.help)
            edit.setPlaceholderText(f.placeholder)
            if f.secret_key_attr:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setText(getattr(self.draft, f.key))
            edit.textChanged.connect(lambda text, key=f.key: self._edited(key, text))
            edit.editingFinished.connect(lambda edit=edit: self._left(edit))
            self.edits[f.key] = edit
        form.addRow("Database address:", self.edits["database_url"])
        form.addRow("Password:", self.edits["password"])

        # The environment variable is for scripts and servers: out of the way unless used.
        self.advanced_button = QToolButton()
        self.advanced_button.setObjectName("teamAdvancedButton")
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.toggled.connect(self._show_advanced)
        form.addRow(self.advanced_button)
        self.env_label = QLabel("Password variable:")
        form.addRow(self.env_label, self.edits["password_env"])
        outer.addWidget(box)

        self.error_label = QLabel()
        self.error_label.setObjectName("teamErrorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setContentsMargins(8, 6, 8, 6)
        self.error_label.setAccessibleName("Problem with the team database")
        self.error_label.hide()
        outer.addWidget(self.error_label)

        self.test_button, self.test_result = add_test_row(
            outer,
            "Test",
            "Connect to the team database as typed, without saving anything",
            "Team database test result",
            names=("teamTestButton", "teamTestResult"),
        )
        self.test_button.clicked.connect(self.test_connection)
        outer.addStretch(1)

        self.advanced_button.setChecked(bool(self.draft.password_env))
        self._show_advanced(self.advanced_button.isChecked())
        self._apply_tones()
        self._update_password_placeholder()
        self.validate()

    # ------------------------------------------------------------------ editing

    def _show_advanced(self, shown: bool) -> None:
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.env_label.setVisible(shown)
        self.edits["password_env"].setVisible(shown)

    def _edited(self, key: str, text: str) -> None:
        setattr(self.draft, key, text.strip() if key == "password" else text)
        self.test_result.clear()
        self._update_password_placeholder()
        self.validate()
        self.changed.emit()

    def _left(self, edit: QLineEdit) -> None:
        """A field was edited and left: from now on what is wrong shows."""
        if edit.isModified() and not self.revealed:
            self.revealed = True
            self.validate()
            self.changed.emit()

    def reveal(self) -> None:
        """Save was pressed: say what is wrong, touched or not."""
        self.revealed = True
        self.validate()

    @property
    def shown_error(self) -> str:
        return self.error if self.revealed else ""

    def _update_password_placeholder(self) -> None:
        env_name = self.draft.password_env.strip()
        if env_name and os.environ.get(env_name):
            stored = f"From ${env_name}"
        else:
            if self._in_keyring is None:  # asked once: a keyring call per keystroke is slow
                try:
                    original = self.draft.original
                    self._in_keyring = original is not None and bool(self.secrets.get(original.password_key))
                except InvoiceDeskError:
                    self._in_keyring = False
            stored = "Saved in the keyring" if self._in_keyring else ""
        self.edits["password"].setPlaceholderText(
            f"{stored}; type to replace" if stored else "Not saved yet"
        )

    # ------------------------------------------------------------------ validation

    def validate(self) -> tuple[TeamConfig | None, str]:
        """The ``[team]`` as typed (``None`` when off), or what is wrong with it in staff words.

        The words show under the form once :attr:`revealed`; the answer is the same either way.
        """
        team, _ = self.draft.check()
        self._bad_field, self.error = self.draft.problem()
        shown = self.shown_error
        self.error_label.setText(shown)
        self.error_label.setVisible(bool(shown))
        self.test_button.setEnabled(self.draft.enabled and not self.error and not self._testing)
        if not shown:
            self._bad_field = ""
        self._paint_fields()
        return team, self.error

    def after_save(self, team: TeamConfig | None) -> None:
        self.draft.original = team
        self.draft.password = ""
        self.revealed = False
        self._in_keyring = None
        self.edits["password"].blockSignals(True)
        self.edits["password"].clear()
        self.edits["password"].blockSignals(False)
        self._update_password_placeholder()

    def overlay(self) -> dict[str, str]:
        """The password typed, under the keyring key it would be saved as."""
        if not self.draft.password:
            return {}
        return {TeamConfig(self.draft.database_url).password_key: self.draft.password}

    # ------------------------------------------------------------------ test

    def _show_test(self, text: str, ok: bool | None) -> None:
        self._test_ok = ok
        self._apply_tones()
        self.test_result.setText(text)

    @asyncSlot()  # type: ignore[untyped-decorator]
    async def test_connection(self) -> None:
        """Connect as typed (password included, nothing saved); the answer shows beside the button."""
        team, error = self.validate()
        if team is None:
            self.reveal()
            self._show_test(error or "Type the database address first.", False)
            return
        tested = self.draft.table()
        self._testing = True
        self.test_button.setEnabled(False)
        self._show_test(f"Connecting to {team.where}…", None)
        try:
            text, ok = await self.tester(team, self.overlay()), True
        except InvoiceDeskError as exc:
            text, ok = str(exc), False
        except Exception as exc:  # never let a bug in a tester escape a button
            log.exception("Team database test failed")
            text, ok = f"Test failed: {type(exc).__name__}", False
        finally:
            self._testing = False
            self.validate()
        self.last_test = text
        if self.draft.table() == tested:  # not about an address staff have changed since
            self._show_test(text, ok)

    # ------------------------------------------------------------------ colours

    def _paint_fields(self) -> None:
        border = f"QLineEdit {{ border: 1px solid {tones(self.palette()).error_text}; }}"
        for key, edit in self.edits.items():
            edit.setStyleSheet(border if key == self._bad_field else "")

    def _apply_tones(self) -> None:
        t = tones(self.palette())
        self.error_label.setStyleSheet(
            f"QLabel {{ background: {t.error_bg}; color: {t.error_fg}; border-radius: 3px; }}"
        )
        colour = {True: t.success_text, False: t.error_text, None: "palette(text)"}[self._test_ok]
        self.test_result.setStyleSheet(f"QLabel {{ color: {colour}; }}")
        self._paint_fields()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and hasattr(
            self, "test_result"
        ):
            self._apply_tones()
