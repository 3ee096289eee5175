"""The one rule for the web addresses InvoiceDesk sends credentials to.

A leaf module (it imports nothing of InvoiceDesk): the configuration checks an address when the
file is read, the transport checks it again before a client is built, and both ask here, so
"which hosts may be reached over plain http" is answered once: only this machine (the
sandbox), by name or loopback address. Each caller turns a :class:`URLProblem` into its own
sentence (the configuration names the file and the key, the transport names the host).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit

#: The only hosts plain ``http://`` may go to: this machine, where the sandbox runs.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class URLProblem(enum.Enum):
    """Why an address is refused, in the order the checks run."""

    INVALID = "not a valid URL"
    SPACES = "contains spaces"
    NOT_WEB = "not an http(s) URL"
    PORT_ZERO = "port 0"
    CREDENTIALS = "carries a user name or password"
    QUERY = "carries a query string"
    PLAIN_HTTP = "plain http off this machine"


@dataclass(frozen=True, slots=True)
class URLRefusal:
    problem: URLProblem
    host: str = ""
    detail: str = ""


def is_loopback(host: str) -> bool:
    """True for this machine's names: the only hosts plain http may reach."""
    return host.lower().strip("[]") in LOOPBACK_HOSTS


def url_refusal(url: object, *, tidy: bool = True) -> URLRefusal | None:
    """Why credentials must not be sent to ``url``, or ``None`` when they may.

    Always refused: what does not parse, what is not http(s) with a host, user info in the
    address (it ends up in logs and histories), plain http to another machine. With ``tidy``
    (a configuration file) also spaces, port 0 and a query string, which are typing mistakes
    there; the transport checks without it, since a client may be handed a URL with a query.
    """
    if not isinstance(url, str):
        return URLRefusal(URLProblem.INVALID, detail=type(url).__name__)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # .port raises on ":99999" or ":abc"
    except ValueError as exc:  # "https://[zz/v1": an unclosed IPv6 bracket
        return URLRefusal(URLProblem.INVALID, detail=str(exc))
    if tidy and any(ch.isspace() for ch in url):
        return URLRefusal(URLProblem.SPACES, host or "")
    if parts.scheme.lower() not in ("http", "https") or not host:
        return URLRefusal(URLProblem.NOT_WEB, host or "")
    if tidy and port == 0:
        return URLRefusal(URLProblem.PORT_ZERO, host)
    if parts.username or parts.password:
        return URLRefusal(URLProblem.CREDENTIALS, host)
    if tidy and parts.query:
        return URLRefusal(URLProblem.QUERY, host)
    if parts.scheme.lower() == "http" and not is_loopback(host):
        return URLRefusal(URLProblem.PLAIN_HTTP, host)
    return None
