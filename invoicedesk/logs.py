"""Logging: one rotating file per user, with secrets blanked before anything is written.

Staff send us their log when something goes wrong, so it must help (what happened, with
tracebacks) and must never leak a credential. Two layers keep secrets out:

- values registered at run time with :func:`register_secret` (every token, API key and
  password InvoiceDesk resolves) are replaced wherever they appear;
- patterns catch what was never registered: ``Authorization:`` headers, ``Bearer``/``Basic``
  credentials, ``authtoken=``/``api_key=``/``password=`` pairs (query strings, JSON, reprs)
  and ``user:password@`` in URLs.

The filter sits on our handlers, so it sees every record that reaches the file, from any
logger (ours, httpx, uvicorn, asyncio), including the formatted traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

LOG_FILE = "invoicedesk.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
MASK = "***"
FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"

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

_HANDLER_MARK = "_invoicedesk_handler"
_current_file: Path | None = None


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


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential-shaped value blanked."""
    for secret in _sorted:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Blanks secrets in a record's message, arguments, traceback and stack before output.

    Attach it to handlers, not loggers: a handler filter sees records propagated from every
    logger, a logger filter only the records logged on that exact logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def log_file() -> Path | None:
    """The file :func:`setup_logging` writes to, or None when logging goes nowhere on disk."""
    return _current_file


def setup_logging(
    *,
    folder: Path | None = None,
    level: int | str | None = None,
    stderr: bool | None = None,
) -> Path | None:
    """Send every log record to a rotating file (1 MB x 5) in the user log folder.

    Safe to call again (replaces the handlers it installed before). ``INVOICEDESK_LOG_LEVEL``
    overrides the level; ``INVOICEDESK_LOG_STDERR=1`` also echoes records to stderr. Returns
    the log file, or None if the folder cannot be written (the app still runs).
    """
    global _current_file
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()

    env_level = os.environ.get("INVOICEDESK_LOG_LEVEL", "").strip().upper()
    resolved = level if level is not None else (env_level or logging.INFO)
    root.setLevel(resolved)
    # Request lines carry URLs and would drown everything else; failures are logged by our
    # transport with the account and the endpoint.
    for name in ("httpx", "httpcore", "hpack", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)

    formatter = logging.Formatter(FORMAT)
    redactor = RedactingFilter()
    handlers: list[logging.Handler] = []
    _current_file = None
    try:
        if folder is None:
            from invoicedesk.config import log_dir

            folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_FILE
        handlers.append(
            logging.handlers.RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
            )
        )
        _current_file = path
    except OSError as exc:
        print(f"invoicedesk: cannot write a log file ({exc.strerror or exc}).", file=sys.stderr)

    echo = stderr if stderr is not None else os.environ.get("INVOICEDESK_LOG_STDERR") == "1"
    if echo and sys.stderr is not None:  # a windowed Windows build has no stderr at all
        handlers.append(logging.StreamHandler(sys.stderr))

    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    logging.captureWarnings(True)
    return _current_file
