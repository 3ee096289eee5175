"""InvoiceDesk: Jumpseller orders and Marketplacer invoices, invoiced and shipped from one window."""

__version__ = "0.1.0"
APP_NAME = "InvoiceDesk"
