"""Mark Sent: the tracking number and carrier Marketplacer needs before an invoice counts as sent.

The dialog only collects and checks; the main window performs the action when ``submitted``
fires. It is non-modal and shown with ``open()``/``show()``, never ``exec()``: a nested event
loop inside a qasync coroutine is re-entrant and breaks the running task.

Validation is strict where Marketplacer's data format would otherwise silently go wrong:
``postage_tracking``/``postage_carrier`` hold one value per shipment separated by commas, so a
comma or a line break inside a tracking number or carrier name would be read as two shipments.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from invoicedesk.domain import Invoice
from invoicedesk.money import format_money
from invoicedesk.textsafe import capped
from invoicedesk.ui.icons import icon
from invoicedesk.ui.palette import tones

CARRIERS: tuple[str, ...] = (
    "Australia Post",
    "StarTrack",
    "Sendle",
    "CouriersPlease",
    "Aramex",
    "DHL Express",
    "FedEx",
    "UPS",
    "TNT",
    "Toll",
)

TRACKING_MIN = 3
TRACKING_MAX = 64
CARRIER_MAX = 64
NOTE_MAX = 500

_TRACKING_CHARS = re.compile(r"[A-Za-z0-9 \-]+")


def tracking_problem(text: str) -> str | None:
    """Why ``text`` (already trimmed) is not a usable tracking number, or ``None``."""
    if not text:
        return "Enter the tracking number."
    if "\n" in text or "\r" in text:
        return "The tracking number must be on one line."
    if not _TRACKING_CHARS.fullmatch(text):
        return "The tracking number may hold only letters, digits, spaces and hyphens."
    if len(text) < TRACKING_MIN:
        return f"The tracking number is too short (at least {TRACKING_MIN} characters)."
    if len(text) > TRACKING_MAX:
        return f"The tracking number is too long (at most {TRACKING_MAX} characters)."
    return None


def carrier_problem(text: str) -> str | None:
    """Why ``text`` (already trimmed) is not a usable carrier name, or ``None``."""
    if not text:
        return "Choose or type the carrier."
    if "\n" in text or "\r" in text:
        return "The carrier must be on one line."
    if "," in text:
        return "The carrier must not contain a comma (Marketplacer separates shipments with commas)."
    if len(text) > CARRIER_MAX:
        return f"The carrier name is too long (at most {CARRIER_MAX} characters)."
    return None


class MarkSentDialog(QDialog):
    """Asks for tracking number, carrier and an optional note for one Buy Online invoice."""

    submitted = Signal(str, str, str)  # tracking, carrier, note (all trimmed)

    def __init__(self, invoice: Invoice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.invoice = invoice
        self.setObjectName("markSentDialog")
        self.setWindowTitle(f"Mark invoice {invoice.id} sent")
        self.setWindowIcon(icon("sent"))
        self.setModal(False)
        self.setMinimumWidth(440)

        layout = QVBoxLayout(self)
        who = capped(invoice.customer_name, 200) if invoice.customer_name else "unknown customer"
        self.summary = QLabel()
        self.summary.setObjectName("invoiceSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        units = sum(line.quantity for line in invoice.lines)
        items = f"{units} item{'s' if units != 1 else ''}"
        total = format_money(invoice.total, invoice.currency) if invoice.total_known else ""
        self.summary.setText(
            f"Invoice {invoice.id} · {who} · {invoice.delivery_label}\n"
            + " · ".join(p for p in (f"Marketplacer seller {invoice.account}", items, total) if p)
        )
        self.summary.setAccessibleName("Invoice to mark sent")
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        layout.addWidget(self.summary)

        self.refusal = QLabel()
        self.refusal.setObjectName("refusalLabel")
        self.refusal.setWordWrap(True)
        self.refusal.setContentsMargins(8, 6, 8, 6)
        why_not = invoice.action_refusal("sent")
        self.refusal.setText(why_not or "")
        self.refusal.setVisible(bool(why_not))
        layout.addWidget(self.refusal)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.tracking_edit = QLineEdit()
        self.tracking_edit.setObjectName("trackingEdit")
        self.tracking_edit.setPlaceholderText("e.g. 33PKP7375692")
        self.tracking_edit.setMaxLength(TRACKING_MAX + 20)  # room to paste, then trimmed
        self.tracking_edit.setAccessibleName("Tracking number")
        form.addRow("&Tracking number:", self.tracking_edit)

        self.carrier_combo = QComboBox()
        self.carrier_combo.setObjectName("carrierCombo")
        self.carrier_combo.setEditable(True)
        self.carrier_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.carrier_combo.addItems(list(CARRIERS))
        self.carrier_combo.setCurrentIndex(-1)
        self.carrier_combo.setAccessibleName("Carrier")
        line = self.carrier_combo.lineEdit()
        assert line is not None  # an editable combo box always has one
        line.setPlaceholderText("Choose or type a carrier")
        line.setMaxLength(CARRIER_MAX + 20)
        if invoice.postage_carrier:  # a partially sent invoice: the carrier used last time
            self.carrier_combo.setEditText(invoice.postage_carrier[-1])
        form.addRow("&Carrier:", self.carrier_combo)

        self.note_edit = QLineEdit()
        self.note_edit.setObjectName("noteEdit")
        self.note_edit.setPlaceholderText("Optional, visible to the marketplace")
        self.note_edit.setMaxLength(NOTE_MAX)
        self.note_edit.setAccessibleName("Note")
        form.addRow("&Note:", self.note_edit)
        layout.addLayout(form)

        self.hint = QLabel()
        self.hint.setObjectName("hintLabel")
        self.hint.setWordWrap(True)
        self.hint.setAccessibleName("What is still missing")
        layout.addWidget(self.hint)

        self.buttons = QDialogButtonBox()
        self.ok_button: QPushButton = self.buttons.addButton(
            "Mark sent", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setObjectName("markSentButton")
        self.ok_button.setIcon(icon("sent"))
        self.ok_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.tracking_edit.textChanged.connect(self._validate)
        self.carrier_combo.editTextChanged.connect(self._validate)
        self.note_edit.textChanged.connect(self._validate)
        self._validate()
        self.tracking_edit.setFocus()

    # ------------------------------------------------------------------ values

    @property
    def tracking(self) -> str:
        return self.tracking_edit.text().strip()

    @property
    def carrier(self) -> str:
        return self.carrier_combo.currentText().strip()

    @property
    def note(self) -> str:
        return self.note_edit.text().strip()

    def problems(self) -> list[str]:
        """Everything that stops the invoice being marked sent, as sentences for the hint."""
        found = [self.invoice.action_refusal("sent"), tracking_problem(self.tracking)]
        found.append(carrier_problem(self.carrier))
        return [p for p in found if p]

    def _validate(self) -> None:
        problems = self.problems()
        self.ok_button.setEnabled(not problems)
        # The refusal already has its own red box; the hint says what to type.
        typed = [p for p in problems if p != self.invoice.action_refusal("sent")]
        self.hint.setText(" ".join(typed) if typed else "Ready to mark the invoice sent.")
        self._typed = bool(typed)
        self._apply_tones()

    def _apply_tones(self) -> None:
        """Colours from the palette in use (light or dark), again whenever it changes."""
        t = tones(self.palette())
        self.refusal.setStyleSheet(
            f"QLabel {{ background: {t.error_bg}; color: {t.error_fg}; border-radius: 3px; }}"
        )
        colour = t.warning_text if getattr(self, "_typed", False) else t.success_text
        self.hint.setStyleSheet(f"QLabel {{ color: {colour}; }}")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_tones()
        super().changeEvent(event)

    # ------------------------------------------------------------------ showing and closing

    def open(self) -> None:
        """Show without blocking the main window (Qt's ``open()`` would make it window-modal)."""
        self.setResult(0)
        self.show()

    def accept(self) -> None:
        if self.problems():  # Enter in a field while invalid: stay open, the hint says why
            self._validate()
            return
        self.submitted.emit(self.tracking, self.carrier, self.note)
        super().accept()
