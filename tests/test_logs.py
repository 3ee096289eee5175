"""The log file helps support and never leaks a credential; a crash leaves a trace and a dialog."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from invoicedesk import logs, redact

SECRET = "tok-7f3a9c1e55d2b8a4"
OTHER = "key_Q2xpZW50U2VjcmV0VmFsdWU"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Logging set up as the app does it, into a throw-away folder; root state restored after."""
    root = logging.getLogger()
    saved_level = root.level
    saved_levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "hpack", "uvicorn.access")}
    path = logs.setup_logging(folder=tmp_path / "logs", level=logging.DEBUG, stderr=False)
    assert path is not None
    yield path
    for handler in list(root.handlers):
        if getattr(handler, "_invoicedesk_handler", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(False)
    redact.forget_secrets()


def flushed(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_registered_secret_never_reaches_the_file(log_file: Path, sandbox_session) -> None:
    redact.register_secret(SECRET)
    log = logging.getLogger("invoicedesk.clients.jumpseller")

    log.info("using token %s for demo-store", SECRET)  # through %-args
    log.warning(f"service echoed: invalid authtoken {SECRET}")  # already formatted
    log.debug("headers %r", {"Authorization": f"Basic {SECRET}", "Accept": "application/json"})
    try:
        raise ValueError(f"bad answer for {SECRET}")
    except ValueError:
        log.exception("while syncing")  # message and traceback
    worker = threading.Thread(target=lambda: log.error("from a thread: %s", SECRET), name="sync-worker")
    worker.start()
    worker.join(timeout=10)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"deprecated call with {SECRET}", UserWarning, stacklevel=1)  # captured warning
    # A real request whose URL carries the secret; httpx logs the full URL when allowed to.
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    with httpx.Client() as client:
        client.get(f"{sandbox_session.jumpseller_url}/orders/count.json", params={"authtoken": SECRET})

    text = flushed(log_file)
    assert SECRET not in text
    # The records themselves are there, so the check above looked at something real.
    assert "using token *** for demo-store" in text
    assert "invalid authtoken ***" in text
    assert "ValueError: bad answer for ***" in text and "Traceback" in text
    assert "[sync-worker] from a thread: ***" in text
    assert "deprecated call with ***" in text
    assert "HTTP Request: GET" in text and "/orders/count.json" in text


def test_credentials_that_were_never_registered_are_blanked_by_shape(log_file: Path) -> None:
    log = logging.getLogger("invoicedesk.transport")
    log.warning("request headers: Authorization: Bearer %s", OTHER)
    log.warning("GET https://api.example.com/v1/orders.json?login=shop&authtoken=%s&page=2", OTHER)
    log.warning("body %s", json.dumps({"api_key": OTHER, "name": "bikeshop"}))
    log.warning("staging at https://staging:%s@shop.example.com/api", OTHER)
    log.warning("raw header %r", (b"authorization", b"Basic " + OTHER.encode()))

    text = flushed(log_file)
    assert OTHER not in text
    assert "Authorization: Bearer ***" in text
    assert "login=shop&authtoken=***&page=2" in text
    assert '"api_key": "***", "name": "bikeshop"' in text
    assert "https://staging:***@shop.example.com/api" in text


def test_ordinary_words_stay_readable() -> None:
    # Redaction must not eat the sentences staff and support read.
    line = "Basic credentials were refused for account 'bikeshop'; token expired? retry"
    assert redact.redact(line) == line


def test_setting_up_twice_does_not_double_lines_and_http_libraries_stay_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    try:
        logs.setup_logging(folder=folder, level=logging.INFO, stderr=False)
        path = logs.setup_logging(folder=folder, level=logging.INFO, stderr=False)
        assert path == folder / logs.LOG_FILE == logs.log_file()
        logging.getLogger("invoicedesk").info("exactly once")
        logging.getLogger("httpx").info("HTTP Request: GET https://example.com/ 200")
        logging.getLogger("httpcore.http11").info("receive_response_headers.complete")
        text = flushed(path)
        assert text.count("exactly once") == 1
        assert "HTTP Request" not in text and "receive_response_headers" not in text
        ours = [h for h in logging.getLogger().handlers if getattr(h, "_invoicedesk_handler", False)]
        assert len(ours) == 1
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_invoicedesk_handler", False):
                logging.getLogger().removeHandler(handler)
                handler.close()
        logging.captureWarnings(False)


def test_log_file_rotates_at_about_a_megabyte_keeping_five(log_file: Path) -> None:
    log = logging.getLogger("invoicedesk.bulk")
    line = "x" * 1000
    for _ in range(1200):  # ~1.2 MB
        log.info(line)
    flushed(log_file)
    backups = sorted(p.name for p in log_file.parent.iterdir())
    assert backups == [logs.LOG_FILE, logs.LOG_FILE + ".1"]
    assert log_file.with_name(logs.LOG_FILE + ".1").stat().st_size <= logs.MAX_BYTES
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_invoicedesk_handler", False))
    assert getattr(handler, "backupCount", None) == logs.BACKUP_COUNT


# ------------------------------------------------------------------------------------------
# Crash handling


@pytest.fixture
def reporter(qapp, log_file: Path):
    from invoicedesk.ui.crash import CrashReporter

    rep = CrashReporter(log_file=log_file)
    yield rep
    rep.uninstall()
    if rep.dialog is not None:
        rep.dialog.close()
        rep.dialog.deleteLater()


def _raise(message: str) -> BaseException:
    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        return exc


def test_unhandled_error_is_logged_and_shown_instead_of_vanishing(qtbot, reporter, log_file: Path) -> None:
    redact.register_secret(SECRET)
    previous = sys.excepthook
    reporter.install()
    assert sys.excepthook == reporter.excepthook
    exc = _raise(f"invoice button failed with {SECRET}")

    sys.excepthook(type(exc), exc, exc.__traceback__)

    text = flushed(log_file)
    assert "CRITICAL" in text and "Unhandled error" in text
    assert "Traceback (most recent call last)" in text and "in _raise" in text
    assert "RuntimeError: invoice button failed with ***" in text
    assert SECRET not in text
    box = reporter.dialog
    assert box is not None
    qtbot.waitUntil(box.isVisible)
    assert "something went wrong" in box.windowTitle()
    assert str(log_file) in box.informativeText()
    assert SECRET not in box.text() + box.informativeText() + box.detailedText()
    assert "RuntimeError" in box.text()
    reporter.uninstall()
    assert sys.excepthook == previous


def test_errors_from_the_loop_and_threads_reach_the_one_dialog(qtbot, qloop, reporter, log_file: Path) -> None:
    reporter.install(qloop)

    async def broken() -> None:
        raise KeyError("order 1042 vanished")

    task = qloop.create_task(broken())
    qtbot.waitUntil(task.done)
    # What asyncio does when a failed task is never awaited (its __del__ calls the handler).
    qloop.call_exception_handler({"message": "Task exception was never retrieved", "exception": task.exception()})
    qtbot.waitUntil(lambda: reporter.count == 1)
    first = reporter.dialog
    assert first is not None and first.isVisible()

    worker = threading.Thread(target=lambda: 1 / 0, name="export-worker")
    worker.start()
    worker.join(timeout=10)
    qtbot.waitUntil(lambda: reporter.count == 2)  # delivered to the GUI thread by a queued signal
    assert reporter.dialog is first  # no pile of boxes
    assert "1 more error" in first.informativeText()

    qloop.call_exception_handler({"message": "Task was destroyed but it is pending!"})
    text = flushed(log_file)
    assert "KeyError: 'order 1042 vanished'" in text
    assert "Unhandled error in export-worker" in text and "ZeroDivisionError" in text
    assert "Task was destroyed but it is pending!" in text
    assert reporter.count == 2  # a log line, not a dialog
    reporter.uninstall()
    assert qloop.get_exception_handler() is None


def test_cancellation_is_not_an_error(qloop, reporter, log_file: Path) -> None:
    reporter.install(qloop)
    qloop.call_exception_handler({"message": "sync cancelled", "exception": asyncio.CancelledError()})
    logging.getLogger("invoicedesk").info("marker")
    assert reporter.count == 0
    text = flushed(log_file)
    assert "marker" in text and "sync cancelled" not in text
