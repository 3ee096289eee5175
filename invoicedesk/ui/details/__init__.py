"""The detail pane, split by what it shows.

- ``pane``: the :class:`~invoicedesk.ui.details.pane.DetailPane` widget, its sections and tables,
  and the colours it takes from the palette (the only module here that imports Qt);
- ``order``, ``invoice``, ``history``: what the pane shows for an order, an invoice, and the
  actions InvoiceDesk took on either, as plain data;
- ``markup``: the escaping, links, dates and small HTML pieces those share.

This package's ``__init__`` imports nothing, so the Qt-free modules load without Qt.
"""
