"""Safe addresses and the one way InvoiceDesk builds an HTTP client.

Credentials travel only in headers (httpx auth objects), never in URLs; plain ``http://`` is
refused except to this machine (the rule is :mod:`invoicedesk.urls`'s, the sentences are for
staff); a client never follows a redirect, always verifies TLS and always has timeouts.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from invoicedesk import __version__
from invoicedesk.errors import InsecureURLError
from invoicedesk.redact import guard_library_logs
from invoicedesk.urls import URLProblem, url_refusal

USER_AGENT = f"InvoiceDesk/{__version__}"

#: Explicit timeouts: a dead network shows up within seconds, a slow page still loads.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=10.0)


def check_url(url: str) -> str:
    """Return ``url`` if credentials may be sent to it, else raise :class:`InsecureURLError`.

    The rule is :func:`invoicedesk.urls.url_refusal`'s: plain ``http://`` only to this machine
    (the sandbox), and no user name or password in the address (it would end up in logs).
    """
    refusal = url_refusal(url, tidy=False)
    if refusal is None:
        return url
    host = refusal.host.lower()
    if refusal.problem is URLProblem.INVALID:
        raise InsecureURLError(f"'{_safe_url(url)}' is not a valid web address.")
    if refusal.problem is URLProblem.CREDENTIALS:
        raise InsecureURLError(
            f"The address for {host} contains a user name or password; "
            "enter credentials in their own fields instead."
        )
    if refusal.problem is URLProblem.PLAIN_HTTP:
        raise InsecureURLError(
            f"Refusing to send credentials to {host} over plain http://: "
            "the address must start with https://."
        )
    raise InsecureURLError(f"'{_safe_url(url)}' is not a web address: it must start with https://.")


def _safe_url(url: object) -> str:
    """Scheme, host and path of ``url`` for messages: never user info or the query string."""
    text = str(url)
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        cut = text.split("?", 1)[0].split("#", 1)[0]
        if "@" in cut:
            cut = cut.rsplit("@", 1)[1]
        return cut[:200]
    if not parsed.host:
        return parsed.path[:200]
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def make_http_client(
    *,
    base_url: str = "",
    timeout: httpx.Timeout | None = None,
    headers: Mapping[str, str] | None = None,
    max_connections: int = 32,
) -> httpx.AsyncClient:
    """The one way InvoiceDesk builds an HTTP client.

    TLS verification is always on, timeouts are explicit, HTTP/2 is off (the services speak
    HTTP/1.1 and h2 adds a dependency), redirects are not followed (a redirect could carry
    the Authorization header somewhere else), and the User-Agent names the app and version.
    Create one per account inside the running event loop and close it on quit.
    """
    if base_url:
        check_url(base_url)
    guard_library_logs()
    merged = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if headers:
        merged.update(headers)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout or DEFAULT_TIMEOUT,
        verify=True,
        http2=False,
        follow_redirects=False,
        headers=merged,
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=4.0,
        ),
    )
