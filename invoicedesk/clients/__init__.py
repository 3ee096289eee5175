"""Async clients for the three services InvoiceDesk talks to, all over :mod:`invoicedesk.transport`.

Each client is handed its ``httpx.AsyncClient`` (see ``transport.make_http_client``) and its
credentials; none of them reads configuration or globals.
"""

from invoicedesk.clients.invoicing import InvoiceResult, InvoicingClient, contract_payload
from invoicedesk.clients.jumpseller import CREDIT_NOTE, INVOICE, JumpsellerClient
from invoicedesk.clients.marketplacer import MarketplacerClient

__all__ = [
    "CREDIT_NOTE",
    "INVOICE",
    "InvoiceResult",
    "InvoicingClient",
    "JumpsellerClient",
    "MarketplacerClient",
    "contract_payload",
]
