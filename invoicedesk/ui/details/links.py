"""Where a record lives on its own service: the links out of InvoiceDesk, Qt-free.

Neither service documents a web address for one order or one invoice in its admin pages, so
the address is derived from the account's configured API base: the same scheme and host (an
``api.`` prefix dropped), the version and client segments of the path dropped, then
``/admin/orders/<id>`` (Jumpseller) or ``/seller/invoices/<id>`` (Marketplacer). A base on
this machine (the built-in sandbox) has no admin pages: the link goes to the sandbox's own
address instead.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from invoicedesk.config import Account, Config, JumpsellerAccount
from invoicedesk.urls import is_loopback

JUMPSELLER_LABEL = "Open in Jumpseller admin"
MARKETPLACER_LABEL = "Open in the Marketplacer portal"

# API segments at the end of a configured base: "/v1", "/api/v2/client", "/api".
_API_TAIL = re.compile(r"(?:/api)?(?:/v\d+)?(?:/client)?/?$")

COPY_SCHEME = "invoicedesk-copy:"


def _account(config: Config, source: str, name: str) -> Account | None:
    return next((a for a in config.accounts if a.source == source and a.name == name), None)


def admin_link(config: Config, source: str, account: str, record_id: str) -> tuple[str, str] | None:
    """(label, address) of the record in its service's admin pages; ``None`` when the account
    is not configured or its base is not a web address."""
    acc = _account(config, source, account)
    if acc is None:
        return None
    parts = urlsplit(acc.api_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    label = JUMPSELLER_LABEL if isinstance(acc, JumpsellerAccount) else MARKETPLACER_LABEL
    host = parts.netloc
    if is_loopback(parts.hostname):
        return label, f"{parts.scheme}://{host}/"
    if host.startswith("api."):
        host = host[4:]
    prefix = _API_TAIL.sub("", parts.path)
    rid = quote(str(record_id), safe="")
    where = f"/admin/orders/{rid}" if isinstance(acc, JumpsellerAccount) else f"/seller/invoices/{rid}"
    return label, f"{parts.scheme}://{host}{prefix}{where}"


def copy_link(url: str) -> str:
    """An in-app link that puts ``url`` on the clipboard (offered when a browser did not open)."""
    return COPY_SCHEME + url


def copied_url(link: str) -> str | None:
    """The address an in-app copy link carries, or ``None`` for any other link."""
    return link[len(COPY_SCHEME) :] if link.startswith(COPY_SCHEME) else None
