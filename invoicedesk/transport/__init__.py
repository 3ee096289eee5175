"""HTTP policy in one place: safe clients, pacing, retries, JSON decoding and error mapping.

Every service client (Jumpseller, Marketplacer, the invoicing endpoint) goes through a
:class:`RequestPolicy`, so the rules that keep staff's data and credentials safe are written
once. The rooms:

- :mod:`~invoicedesk.transport.client`: addresses credentials may go to (:func:`check_url`)
  and the one way to build an HTTP client (:func:`make_http_client`);
- :mod:`~invoicedesk.transport.pacer`: :class:`RatePacer` keeps each account under its
  published limits, and :class:`SharedBudget` shares its log with every process on the
  same data folder;
- :mod:`~invoicedesk.transport.decoding`: JSON bodies, a service's own error messages,
  ``Retry-After`` and ban headers;
- :mod:`~invoicedesk.transport.policy`: :class:`RequestPolicy`, one logical request with
  pacing, bounded retries (never a write that may have arrived) and typed errors;
- :mod:`~invoicedesk.transport.pages`: paged lists fetched ahead, yielded in order.

Secrets are blanked by :mod:`invoicedesk.redact`, which the policy feeds.
"""

from invoicedesk.transport.client import DEFAULT_TIMEOUT, USER_AGENT, check_url, make_http_client
from invoicedesk.transport.decoding import (
    BAN_HEADER,
    decode_json,
    is_rate_limit_refusal,
    parse_ban_reset,
    parse_retry_after,
    service_messages,
)
from invoicedesk.transport.pacer import (
    JUMPSELLER_LIMITS,
    MARKETPLACER_LIMITS,
    RatePacer,
    RateWindow,
    SharedBudget,
)
from invoicedesk.transport.pages import page_count, pages_in_order, pages_until_done
from invoicedesk.transport.policy import RequestPolicy, RequestStats, RetryConfig

__all__ = [
    "BAN_HEADER",
    "DEFAULT_TIMEOUT",
    "JUMPSELLER_LIMITS",
    "MARKETPLACER_LIMITS",
    "USER_AGENT",
    "RatePacer",
    "RateWindow",
    "RequestPolicy",
    "RequestStats",
    "RetryConfig",
    "SharedBudget",
    "check_url",
    "decode_json",
    "is_rate_limit_refusal",
    "make_http_client",
    "page_count",
    "pages_in_order",
    "pages_until_done",
    "parse_ban_reset",
    "parse_retry_after",
    "service_messages",
]
