"""One small exception hierarchy for everything InvoiceDesk can run into.

The UI and the command line turn these into plain sentences (``str(error)``); they never
show a traceback to staff. No exception text ever contains a secret: clients build
messages from the service name, the account name and the endpoint *path*, never from
headers or full URLs with credentials.
"""

from __future__ import annotations

from datetime import datetime


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
