"""Reading what a service answered: JSON bodies, its own error messages, rate-limit and ban headers.

Pure functions of a response (or of its body and headers), so each rule is tested on its own
and the request policy only decides what to do with the result.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from invoicedesk.errors import MalformedResponseError
from invoicedesk.textsafe import has_unsafe, one_line
from invoicedesk.transport.pacer import first_int

#: Jumpseller's ban header: present (with when the ban ends) once an app ignored its limits.
BAN_HEADER = "Jumpseller-BannedByRateLimit-Reset"


def looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<"))


def decode_json(response: httpx.Response, *, service: str = "", account: str = "") -> Any:
    """Decode a response body as JSON or raise :class:`MalformedResponseError`.

    The message names the endpoint *path* only: query strings can carry filters or, on
    misconfigured systems, credentials.
    """
    endpoint = response.request.url.path if _has_request(response) else ""
    body = response.content
    if not body.strip():
        raise MalformedResponseError(
            f"the service sent an empty answer (HTTP {response.status_code}) where data was expected.",
            service=service,
            account=account,
            endpoint=endpoint,
            status=response.status_code,
        )
    if looks_like_html(body):
        raise MalformedResponseError(
            f"the service sent a web page instead of data (HTTP {response.status_code}); "
            "it may be down for maintenance.",
            service=service,
            account=account,
            endpoint=endpoint,
            status=response.status_code,
        )
    try:
        data = json.loads(body)
        if _SURROGATE_ESCAPE.search(body):
            data = mend_surrogates(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedResponseError(
            f"the service's answer is not complete or not valid JSON (HTTP {response.status_code}).",
            service=service,
            account=account,
            endpoint=endpoint,
            status=response.status_code,
        ) from exc
    return data


# JSON may escape half of a UTF-16 pair ("\ud800") with no other half: valid JSON, not valid
# Unicode. Python keeps it as a lone surrogate, which no UTF-8 encoder (SQLite's binding, a
# log, the terminal) accepts. Only a body with such an escape is walked.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def mend_surrogates(value: Any) -> Any:
    """``value`` with every lone UTF-16 surrogate in its strings (keys too) made U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [mend_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {mend_surrogates(k): mend_surrogates(v) for k, v in value.items()}
    return value


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


def service_messages(body: bytes) -> list[str]:
    """Every human message an error body holds, verbatim, in the order given.

    Understands ``{"message": ...}``, ``{"error": ...}``, ``{"errors": ["..."]}``,
    ``{"errors": [{"title", "detail"}]}`` (detail preferred, else title) and Rails-style
    ``{"errors": {"field": ["..."]}}``. Plain short text is returned on one line; an HTML
    page yields nothing (staff cannot read markup). JSON cut short (a proxy's size limit, a
    dropped connection) is never shown raw: the messages that arrived whole are salvaged, else
    nothing (the caller then says "refused (HTTP 422)"). A message with a line break or a
    control character, or over 500 characters, is made one line of at most 500.
    """
    if not body.strip():
        return []
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        if looks_like_html(body):
            return []
        text = body.decode("utf-8", "replace").strip()
        if text[:1] not in ("{", "["):
            return [one_line(text, 500)] if text else []
        # Cut-short JSON: the whole strings after the keys error bodies use for human words.
        found: list[str] = []
        field = r'"(?:detail|title|message|error|error_description)"\s*:\s*("(?:[^"\\]|\\.)*")'
        for match in re.finditer(field, text[:100_000]):
            try:
                value = json.loads(match.group(1))
            except ValueError:
                continue
            cleaned = one_line(value, 500) if isinstance(value, str) else ""
            if cleaned and cleaned not in found and len(found) < 20:
                found.append(cleaned)
        return found
    out: list[str] = []

    def take(value: object, prefix: str = "") -> None:
        if isinstance(value, str):
            if value.strip():
                out.append(f"{prefix}{value}")
        elif isinstance(value, Mapping):
            detail = value.get("detail")
            title = value.get("title")
            message = value.get("message")
            chosen = next(
                (v for v in (detail, title, message) if isinstance(v, str) and v.strip()), None
            )
            if chosen is not None:
                out.append(f"{prefix}{chosen}")
            else:
                for key, sub in value.items():
                    take(sub, f"{prefix}{key} ")
        elif isinstance(value, list):
            for item in value:
                take(item, prefix)

    try:
        if isinstance(data, Mapping):
            for key in ("message", "error", "errors", "error_description"):
                if key in data:
                    take(data[key])
        elif isinstance(data, list | str):
            take(data)
    except RecursionError:  # absurdly nested error objects: keep what was read
        pass
    # Verbatim unless a message holds a line break or control character, or runs long.
    return [m if len(m) <= 500 and not has_unsafe(m) else one_line(m, 500) for m in out[:20]]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


_REMAINING_HEADERS = (
    "Jumpseller-PerSecondRateLimit-Remaining",
    "Jumpseller-PerMinuteRateLimit-Remaining",
)


def is_rate_limit_refusal(status: int, headers: httpx.Headers) -> bool:
    """A 429, or a 403 that says a rate-limit window is empty (Jumpseller's spec shows a 403
    in its retry sample, without ``Retry-After``): rate limiting, not an auth failure."""
    if status == 429:
        return True
    if status != 403:
        return False
    for name in _REMAINING_HEADERS:
        value = first_int(headers, (name,))
        if value is not None and value <= 0:
            return True
    return False


def parse_ban_reset(value: str, *, now: datetime | None = None) -> datetime:
    """When a Jumpseller ban ends: the header may hold epoch seconds, seconds left, an HTTP
    date or an ISO 8601 timestamp (public sources do not say which); returns aware UTC."""
    current = now or datetime.now(UTC)
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if number > 1_000_000_000:  # an epoch timestamp
            return datetime.fromtimestamp(number, UTC)
        return current + timedelta(seconds=max(number, 0.0))
    try:
        when = datetime.fromisoformat(text.replace(" UTC", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return current + timedelta(minutes=10)  # unreadable: assume a short ban
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def local_time(when: datetime) -> str:
    local = when.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S")
