"""Logging: one rotating file per user, with secrets blanked before anything is written.

Staff send us their log when something goes wrong, so it must help (what happened, with
tracebacks) and must never leak a credential: every handler installed here carries the one
:class:`~invoicedesk.redact.RedactingFilter` (registered secrets and credential-shaped values,
see :mod:`invoicedesk.redact`). A filter on a handler sees every record that reaches the file,
from any logger (ours, httpx, uvicorn, asyncio), including the formatted traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from invoicedesk.paths import log_dir
from invoicedesk.redact import RedactingFilter

LOG_FILE = "invoicedesk.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"

_HANDLER_MARK = "_invoicedesk_handler"
_current_file: Path | None = None


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
