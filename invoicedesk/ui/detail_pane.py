"""Where the detail pane used to live: the names main_window and older imports use.

The pane is now the package :mod:`invoicedesk.ui.details` (widget in ``pane``; what an order,
an invoice and the history show in ``order``, ``invoice``, ``history``; shared text in ``markup``).
"""

from invoicedesk.ui.details.history import ACTION_LABELS, unknown_outcome_advice
from invoicedesk.ui.details.markup import PLACEHOLDER, when
from invoicedesk.ui.details.pane import DetailPane

__all__ = ["ACTION_LABELS", "PLACEHOLDER", "DetailPane", "unknown_outcome_advice", "when"]
