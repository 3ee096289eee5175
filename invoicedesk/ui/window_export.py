"""The main window's ways out for data: copy rows to the clipboard, export the view as CSV.

A mixin of :class:`~invoicedesk.ui.main_window.MainWindow`. Export writes every record of the
current query (not only the rows loaded into the list) off the GUI thread, in the same format
as ``invoicedesk export``; the file dialog is non-modal (``open()``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QStatusBar, QTableView

from invoicedesk import export
from invoicedesk.ui.controller import Controller
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.records_model import RecordsModel


class CopyExportMixin:
    """Copy and CSV export, for the main window."""

    # The window provides these.
    controller: Controller
    model: RecordsModel
    table: QTableView
    message_bar: MessageBar
    export_dialog: QFileDialog | None

    if TYPE_CHECKING:

        def statusBar(self) -> QStatusBar: ...

    def copy_selection(self) -> str:
        """The selected rows as tab-separated text on the clipboard (pastes into a spreadsheet)."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        text = "\n".join("\t".join(self.model.texts(r)) for r in rows)
        if rows:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage(f"Copied {len(rows)} row(s).", 4000)
        return text

    def ask_export_csv(self) -> None:
        dialog = QFileDialog(self, "Export the current view as CSV")
        dialog.setObjectName("exportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        if documents:
            dialog.setDirectory(documents)  # not wherever the app was started from
        dialog.selectFile("invoicedesk-export.csv")
        dialog.fileSelected.connect(lambda path: self.export_csv(Path(path)))
        self.export_dialog = dialog
        dialog.open()

    def export_csv(self, path: Path) -> asyncio.Task[int]:
        """Write every record of the current query (not only the loaded rows), off the GUI thread.

        Same columns as ``invoicedesk export`` (one format for spreadsheets and scripts).
        """
        model = self.model

        def write() -> int:
            return export.write(model.iter_rows(), "csv", path)

        async def run() -> int:
            self.statusBar().showMessage(f"Exporting to {path}…")
            try:
                count = await self.controller.in_thread(write)
            except OSError as exc:
                self.message_bar.show_message("error", f"Could not write {path}: {exc.strerror or exc}.")
                return 0
            finally:
                self.statusBar().clearMessage()
            self.message_bar.show_message(
                "success", f"Exported {count:,} records to {path}.", [("Open folder", path.parent.as_uri())]
            )
            return count

        return self.controller.spawn(run())

