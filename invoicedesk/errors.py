"""One small exception hierarchy for everything InvoiceDesk can run into.

The UI and the command line turn these into plain sentences (``str(error)``); they never
show a traceback to staff. No exception text ever contains a secret: clients build
messages from the service name, the account name and the endpoint *path*, never from
headers or full URLs with credentials.
"""

from __future__ import annotations

import re
from datetime import datetime

from invoicedesk.redact import redact


class InvoiceDeskError(Exception):
    """Base of every error InvoiceDesk raises on purpose."""


class ConfigError(InvoiceDeskError):
    """The configuration file is missing, unreadable, or holds a bad value."""


class InsecureURLError(InvoiceDeskError):
    """A URL that would send credentials in the clear (plain http to a non-loopback host)."""


class ServiceError(InvoiceDeskError):
    """A remote service failed or refused; carries which service, account and endpoint."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        account: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        self.message = message
        self.service = service
        self.account = account
        self.endpoint = endpoint
        self.status = status
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = " ".join(p for p in (self.service, f"account '{self.account}'" if self.account else "") if p)
        parts = []
        if where:
            parts.append(where)
        if self.endpoint:
            parts.append(f"({self.endpoint})")
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class AuthError(ServiceError):
    """Wrong or missing credentials (HTTP 401/403)."""


class NotFoundError(ServiceError):
    """The record does not exist on the service (HTTP 404)."""


class RateLimitedError(ServiceError):
    """The service said 429 and retries did not get through."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        service: str = "",
        account: str = "",
        endpoint: str = "",
        status: int | None = 429,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, service=service, account=account, endpoint=endpoint, status=status)


class BannedError(RateLimitedError):
    """Jumpseller banned the client for too many 429s, until ``until``."""

    def __init__(
        self,
        message: str,
        *,
        until: datetime | None = None,
        service: str = "",
        account: str = "",
        endpoint: str = "",
        status: int | None = 429,
    ) -> None:
        self.until = until
        super().__init__(message, service=service, account=account, endpoint=endpoint, status=status)


class RejectedError(ServiceError):
    """The service understood the request and refused it; ``messages`` are its words, verbatim."""

    def __init__(
        self,
        messages: list[str],
        *,
        service: str = "",
        account: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        self.messages = list(messages) or ["The service refused the request without a reason."]
        super().__init__(
            "; ".join(self.messages), service=service, account=account, endpoint=endpoint, status=status
        )


class MalformedResponseError(ServiceError):
    """The service answered with something that is not the JSON shape the endpoint promises."""


class UnavailableError(ServiceError):
    """The service could not be reached or kept failing (connection error, timeout, 5xx)."""


class OutcomeUnknownError(ServiceError):
    """A write (POST/PUT) may have reached the service but no answer came back.

    Never retried automatically: retrying could invoice an order twice.
    """


# ----------------------------------------------------------------------------- words for staff

# An endpoint path in parentheses, as ``ServiceError`` composes it: "(/jumpseller/v1/orders.json)".
_PAREN_PATH = re.compile(r"\s*\((?:[A-Z]+ )?/[^\s()]*\)")
# A web address anywhere in a text.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s<>\"')]+", re.IGNORECASE)
# A bare API path: one with a version or "api" segment ("/v1/orders/1.json", "/api/v2/client/...").
# A file name staff chose ("/home/ann/orders.json") is theirs to read and stays.
_API_PATH = re.compile(r"(?<![\w.])/(?:[\w.{}:-]+/)*(?:v\d+|api)/[\w./{}:-]*")
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def staff_words(text: str) -> str:
    """``text`` as staff read it: no endpoint paths, no web addresses, tidy punctuation.

    The technical text stays in the log and in :func:`support_details`; staff get the sentence
    that says what happened and what to do.
    """
    out = _PAREN_PATH.sub("", text)
    out = _URL.sub("", out)
    out = _API_PATH.sub("", out)
    out = re.sub(r"\(\s*\)", "", out)  # parentheses left empty
    out = re.sub(r"\.\s*\)", ")", out)  # "again.)" → "again)"
    out = re.sub(r"\)\s*\.\s*\)", "))", out)
    out = re.sub(r"\s+([.,;:])", r"\1", out)
    out = re.sub(r"([.;:])\1+", r"\1", out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    return out.strip()


def endpoint_paths(text: str) -> list[str]:
    """The endpoint paths a message names (for support), in order, each once."""
    found: list[str] = []
    for m in _PAREN_PATH.finditer(text):
        path = m.group(0).strip()[1:-1]
        if path not in found:
            found.append(path)
    for m in _API_PATH.finditer(text):
        if m.group(0) not in found and not any(m.group(0) in f for f in found):
            found.append(m.group(0))
    return found


def support_details(
    text: str,
    *,
    when: datetime | None = None,
    account: str = "",
    record: str = "",
) -> str:
    """What support needs to follow a message up: when, which account and record, the HTTP
    status and the endpoint path, and the message as it was logged. Never a secret: the text
    passes the redactor (registered secrets and credential patterns) once more.
    """
    moment = (when or datetime.now().astimezone()).isoformat(timespec="seconds")
    lines = [f"Time: {moment}"]
    if not account:
        m = re.search(r"account '([^']+)'", text)
        account = m.group(1) if m else ""
    if account:
        lines.append(f"Account: {account}")
    if record:
        lines.append(f"Record: {record}")
    statuses = sorted(set(_HTTP_STATUS.findall(text)))
    if statuses:
        lines.append(f"HTTP status: {', '.join(statuses)}")
    for path in endpoint_paths(text):
        lines.append(f"Path: {path}")
    lines.append(f"Message: {text}")
    return redact("\n".join(lines))
