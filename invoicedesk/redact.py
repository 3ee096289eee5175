"""Secrets never reach a log file or a message: the registry of secrets and the one redactor.

A leaf module (it imports nothing of InvoiceDesk). Staff send us their log when something goes
wrong, so it must help and must never leak a credential. Two layers keep secrets out:

- values registered at run time with :func:`register_secret` (every token, API key and
  password InvoiceDesk resolves, and every secret a request policy is given) are replaced
  wherever they appear;
- patterns catch what was never registered: ``Authorization:`` headers, ``Bearer``/``Basic``
  credentials, ``authtoken=``/``api_key=``/``password=`` pairs (query strings, JSON, reprs)
  and ``user:password@`` in URLs.

:class:`RedactingFilter` is the one logging filter: the log file's handlers carry one (so it sees
every record that reaches the file, from any logger, traceback included), and the HTTP
libraries' loggers carry one that also cuts query strings off the URLs they log
(:func:`guard_library_logs`), so a record is clean even where no handler of ours runs (pytest's
``caplog``, a host application's handlers).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable

MASK = "***"

# Secrets shorter than this are not blanked one by one: replacing every "abc" in a log would
# make it unreadable while protecting nothing a pattern does not already cover.
MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_sorted: tuple[str, ...] = ()

_KEYS = (
    r"authtoken|auth_token|access_token|refresh_token|id_token|token|api[_-]?key|apikey|"
    r"x-api-key|hooks_token|client_secret|secret|password|passwd|pwd"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # Authorization: Bearer abc / authorization: 'Basic abc' / (b'authorization', b'Token abc')
    (
        re.compile(
            r"(?i)(\bauthorization['\"]?\s*(?:[:=,]|=>)\s*(?:b?['\"])?)"
            r"((?:bearer|basic|token|digest)\s+)?[^\s'\",;)}\]]+"
        ),
        lambda m: f"{m.group(1)}{m.group(2) or ''}{MASK}",
    ),
    # Bearer/Basic credentials anywhere else (an echoed header, an exception text).
    # A credential is 8+ characters with a digit, a capital or a symbol: "Basic credentials"
    # in a sentence stays readable.
    (
        re.compile(r"\b([Bb]earer|[Bb]asic|BEARER|BASIC)\s+(?=[A-Za-z0-9._~+/=-]*[A-Z0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}"),
        r"\1 " + MASK,
    ),
    # key=value in query strings and forms; "key": "value" in JSON; 'key': 'value' in reprs.
    (re.compile(rf"(?i)\b({_KEYS})=[^&\s'\",;)}}\]]+"), r"\1=" + MASK),
    (re.compile(rf"(?i)(['\"]({_KEYS})['\"]\s*:\s*b?['\"])[^'\"]*(['\"])"), r"\1" + MASK + r"\3"),
    (re.compile(rf"(?i)\b(({_KEYS})\s*:\s+)[^\s'\",;)}}\]]+"), r"\1" + MASK),
    # user:password@host in URLs.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^/\s@]+@"), r"\1:" + MASK + "@"),
)

_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")


# --------------------------------------------------------------------------------------------
# The registry


def register_secret(value: str | None) -> None:
    """Never write ``value`` to the log from now on (call it for every credential resolved)."""
    global _sorted
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _sorted = tuple(sorted(_secrets, key=len, reverse=True))


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def forget_secrets() -> None:
    """Drop every registered value (tests; a process that changes accounts keeps them)."""
    global _sorted
    with _lock:
        _secrets.clear()
        _sorted = ()


# --------------------------------------------------------------------------------------------
# The redactor


def redact(text: str, secrets: Iterable[str | None] = (), *, patterns: bool = True) -> str:
    """``text`` with every registered secret, each of ``secrets``, and (with ``patterns``) every
    credential-shaped value blanked.

    ``patterns=False`` is for sentences shown to staff (a service's own words, which may say
    "password: too short"): the values are still blanked, the wording is left alone.
    """
    extra = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    known = _sorted if not extra else tuple(sorted(extra.union(_sorted), key=len, reverse=True))
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    if patterns:
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Blanks secrets in a record's message, arguments, traceback and stack before output.

    On a handler it sees the records of every logger that propagate there; on a logger only
    that logger's own. ``secrets`` are blanked besides the registered ones; ``cut_queries``
    also drops query strings from URLs (for libraries that log whole request URLs).
    """

    def __init__(self, secrets: Iterable[str | None] = (), *, cut_queries: bool = False) -> None:
        super().__init__()
        self._secrets: set[str] = {s for s in secrets if s}
        self._cut_queries = cut_queries

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        if self._cut_queries:
            message = _QUERY.sub(r"\1?…", message)
        record.msg = redact(message, self._secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        return True

    def __repr__(self) -> str:
        return f"RedactingFilter({len(self._secrets)} secrets)"


_LIBRARY_FILTER = RedactingFilter(cut_queries=True)
_LIBRARY_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.proxy")


def guard_library_logs() -> None:
    """Put the redactor on the HTTP libraries' loggers (once): they log whole URLs."""
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _LIBRARY_FILTER not in logger.filters:
            logger.addFilter(_LIBRARY_FILTER)
