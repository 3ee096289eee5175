"""The main window's links out: a record in Jumpseller admin or the Marketplacer portal, and
any link staff click (an invoice, a document).

A mixin of :class:`~invoicedesk.ui.main_window.MainWindow`. ``QDesktopServices.openUrl`` says
``False`` when no browser answers; a click must not then do nothing, so the message bar says
the link did not open and offers it to copy (an in-app link that puts it on the clipboard).
Where a record lives on its service is worked out Qt-free in :mod:`~invoicedesk.ui.details.links`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QStatusBar

from invoicedesk.domain import Invoice, Order
from invoicedesk.services import Services
from invoicedesk.ui.details.links import admin_link, copied_url, copy_link
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.records_model import Key, RecordsModel, record_key


class LinksMixin:
    """Open in the service's admin pages, open a link, and say so when no browser opens it."""

    # The window provides these.
    services: Services
    model: RecordsModel
    message_bar: MessageBar
    url_opener: Callable[[QUrl], object]
    _record: Order | Invoice | None
    _key: Key | None

    if TYPE_CHECKING:

        def statusBar(self) -> QStatusBar: ...

    def _admin_link(self, source: str, account: str, record_id: str) -> tuple[str, str] | None:
        return admin_link(self.services.config, source, account, record_id)

    def open_admin(self) -> None:
        """The selected record in Jumpseller admin or the Marketplacer portal (Ctrl+Shift+O)."""
        rec = self._record
        if rec is None:
            return
        s = rec.summary()
        link = self._admin_link(s.source.value, s.account, s.id)
        if link is None:
            self.message_bar.show_message(
                "info", f"No web address is configured for the account {s.account}.", record=self._key
            )
            return
        self.open_link(link[1])

    def _on_double_click(self, index: QModelIndex) -> None:
        """A double-click on a row opens that record on its service."""
        summary = self.model.summary(index.row())
        if summary is not None and record_key(summary) == self._key:
            self.open_admin()

    def open_link(self, url: str) -> bool:
        """Open ``url`` in the browser; when none answers, say so and offer to copy it.

        An in-app copy link (offered by that message) puts its address on the clipboard.
        """
        copied = copied_url(url)
        if copied is not None:
            QGuiApplication.clipboard().setText(copied)
            self.statusBar().showMessage("Link copied: paste it into a browser.", 8000)
            return True
        if self.url_opener(QUrl(url)) is False:
            self._link_failed(url)
            return False
        return True

    def _link_failed(self, url: str) -> None:
        """No browser opened ``url``: said in the message bar, about the record shown."""
        self.message_bar.show_message(
            "error",
            "The link did not open: no web browser answered. Copy it and paste it into a browser.",
            [("Copy link", copy_link(url))],
            record=self._key,
        )
