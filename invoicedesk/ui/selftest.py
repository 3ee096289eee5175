"""``InvoiceDesk --demo --self-test``: prove that an installed build works, end to end, then quit.

A frozen build can look fine and still miss a module that is imported late, a Qt plugin, the
sandbox's web stack or Babel's data. This runs the whole path a member of staff takes, against
the bundled sandbox, with nothing outside the machine:

1. start the sandbox (uvicorn and starlette are in the bundle), check Babel's and (Linux)
   ICU's trimmed data (money formats; collation, case mapping, time-zone names);
2. sync every demo account (httpx, the clients, the parsers, the SQLite cache);
3. open the main window and wait for it to paint (a Qt platform plugin, fonts, widgets);
4. create one invoice for a paid order that has none, through :class:`Actions` (the journal,
   the signed invoicing request), and check the store now lists it on the order.

Exit status 0 and one "self-test passed" line on stdout; otherwise "self-test failed: <step>:
<reason>" on stderr and status 1. The same lines go to the log, because a windowed Windows
build has no console.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from invoicedesk.errors import InvoiceDeskError

log = logging.getLogger(__name__)

TIMEOUT = 120.0
# A small demo data set: enough for every kind of record, small enough that the first sync
# (one documents request per paid order, paced like the real API) takes seconds.
DEMO_ORDERS = 40
DEMO_INVOICES = 40
MAX_TRIES = 5
EXIT_OK = 0
EXIT_FAILED = 1


class SelfTestError(InvoiceDeskError):
    """A step did not do what it must; the message is the reason, in one sentence."""


@dataclass
class SelfTestReport:
    step: str = "starting"
    accounts: int = 0
    records: int = 0
    painted_after: float | None = None
    invoice: str = ""
    order: str = ""
    account: str = ""
    notes: list[str] = field(default_factory=list)


def prepare_platform() -> None:
    """Offscreen unless the caller chose a platform, or there is a display to show it on.

    Must run before the QApplication exists. On Windows and macOS there is always a display.
    """
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _say(line: str, *, error: bool = False) -> None:
    stream = sys.stderr if error else sys.stdout
    if stream is not None:  # a windowed Windows build has neither
        print(line, file=stream, flush=True)
    (log.error if error else log.info)("%s", line)


class _UnhandledErrors(logging.Handler):
    """Counts what the crash reporter logs: an unhandled error fails the self-test too."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def run_self_test(*, limit_seconds: float = TIMEOUT) -> int:
    """Run every step on the running (qasync) loop; returns the process exit status."""
    report = SelfTestReport()
    watcher = _UnhandledErrors()
    crash_log = logging.getLogger("invoicedesk.crash")
    crash_log.addHandler(watcher)
    started = time.monotonic()
    try:
        await asyncio.wait_for(_steps(report), limit_seconds)
        if watcher.messages:
            raise SelfTestError(f"an unhandled error was reported: {watcher.messages[0]}")
    except SelfTestError as exc:
        _say(f"self-test failed: {report.step}: {exc}", error=True)
        return EXIT_FAILED
    except TimeoutError:
        _say(f"self-test failed: {report.step}: did not finish within {limit_seconds:.0f} s", error=True)
        return EXIT_FAILED
    except Exception as exc:  # anything else is a defect of the build or the app: say which
        log.exception("self-test: unexpected error")
        _say(f"self-test failed: {report.step}: {type(exc).__name__}: {exc}", error=True)
        return EXIT_FAILED
    finally:
        crash_log.removeHandler(watcher)
    painted = f"{report.painted_after:.2f} s" if report.painted_after is not None else "?"
    refused = f" ({len(report.notes)} refused by the service first)" if report.notes else ""
    _say(
        f"self-test passed in {time.monotonic() - started:.1f} s: synced {report.accounts} accounts "
        f"({report.records} records), window painted {painted} after start, invoice "
        f"{report.invoice} created for order {report.order} of '{report.account}' and attached{refused}"
    )
    return EXIT_OK


async def _steps(report: SelfTestReport) -> None:
    from invoicedesk import redact
    from invoicedesk.actions import Actions
    from invoicedesk.cache import Cache
    from invoicedesk.demo import start_demo
    from invoicedesk.errors import RejectedError
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer

    loop = asyncio.get_running_loop()
    # Our own worker thread, joined at the end: the loop's default executor (QThreads under
    # qasync) would outlive the run and be destroyed while still running at exit.
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="selftest")
    report.step = "starting the bundled sandbox"
    try:
        demo = await loop.run_in_executor(
            worker, functools.partial(start_demo, orders=DEMO_ORDERS, invoices=DEMO_INVOICES)
        )
    except BaseException:
        worker.shutdown(wait=False)
        raise
    services = cache = window = None
    try:
        for store in demo.sandbox.stores:  # type: ignore[attr-defined]
            redact.register_secrets((store.token, store.hooks_token))
        for seller in demo.sandbox.sellers:  # type: ignore[attr-defined]
            redact.register_secrets((seller.api_key, seller.basic_password))
        services = Services(demo.config, demo.secrets, demo.data_dir)
        cache = Cache.open(demo.data_dir)

        report.step = "checking the bundled locale data"
        _check_money()
        if sys.platform.startswith("linux"):  # Windows and macOS Qt ask the system, not ICU
            report.step = "checking Qt's Unicode data (ICU)"
            _check_unicode()

        report.step = "syncing the demo accounts"
        syncer = Syncer(services, cache)
        actions = Actions(services, cache)
        results = await syncer.sync_all()
        for result in results:
            if not result.ok:
                raise SelfTestError(f"account '{result.account}': {result.error}")
        report.accounts = len(results)
        report.records = cache.count()
        if report.accounts == 0 or report.records == 0:
            raise SelfTestError("the sync finished but brought nothing into the cache")

        report.step = "opening the main window"
        window, painted = _open_window(services, cache, syncer, actions, demo.data_dir)
        try:
            report.painted_after = await asyncio.wait_for(painted, 30)
        except TimeoutError:
            raise SelfTestError("the window was shown but never painted within 30 s") from None
        ready = getattr(window, "ready", None)
        if callable(ready):
            try:
                await asyncio.wait_for(ready(), 30)
            except TimeoutError:
                raise SelfTestError("the window did not finish loading within 30 s") from None

        report.step = "creating an invoice"
        outcome = None
        for account, order_id in _paid_orders_without_invoice(cache)[:MAX_TRIES]:
            report.account, report.order = account, order_id
            try:
                outcome = await actions.create_invoice(account, order_id)
            except RejectedError as exc:
                # The demo data holds orders the service refuses on purpose (a company with no
                # tax ID): a refusal with the service's words is a working path; try the next.
                report.notes.append(f"order {order_id} refused: {'; '.join(exc.messages)}")
                continue
            break
        if outcome is None:
            raise SelfTestError(
                "no paid order without an invoice could be invoiced"
                + (f" ({report.notes[-1]})" if report.notes else "")
            )
        if outcome.state != "done" or not outcome.public_id:
            raise SelfTestError(f"order {order_id}: {outcome.state}: {outcome.message}")
        report.invoice = outcome.public_id

        report.step = "checking the invoice is attached"
        documents = await services.jumpseller(account).list_documents(int(order_id))
        if not any(d.public_id == outcome.public_id for d in documents):
            raise SelfTestError(f"the store does not list {outcome.public_id} on order {order_id}")
        cached = cache.get_order(account, order_id)
        if cached is None or cached.invoice is None or cached.invoice.public_id != outcome.public_id:
            raise SelfTestError(f"the cache does not show {outcome.public_id} on order {order_id}")
        report.step = "closing"
    finally:
        try:
            await _close(window, services, cache, demo, worker)
        finally:
            worker.shutdown(wait=True)  # idle by now: returns at once


def _check_money() -> None:
    """Babel's locale data is trimmed in the bundle: the formats we use must still be there."""
    from invoicedesk.money import format_money

    shown = format_money(Decimal("1234.5"), "USD")
    if shown != "$1,234.50":
        raise SelfTestError(f"1234.5 USD is shown as {shown!r}, not '$1,234.50'")


def _check_unicode() -> None:
    """ICU's data is trimmed in the Linux bundle: what Qt asks ICU for must still answer.

    Qt reaches ICU for collation (the file dialog sorts names with it), locale case mapping,
    time-zone names and codecs by name. Sorted in code-point order (no collator), names would
    start with "Zoë"; without Spanish tailoring "ñandú" would sort before "nube". Linux only:
    PySide6's Qt for Windows and macOS asks the system's own services, whose words differ.
    """
    import functools

    from PySide6.QtCore import QCollator, QLocale, QStringDecoder, QTimeZone

    def by_collator(locale: str, names: list[str]) -> list[str]:
        return sorted(names, key=functools.cmp_to_key(QCollator(QLocale(locale)).compare))

    checks: list[tuple[str, object, object]] = [
        ("sorting names (en_US)", by_collator("en_US", ["Zoë", "Émile", "adam", "Øyvind", "Ángel"]),
         ["adam", "Ángel", "Émile", "Øyvind", "Zoë"]),
        ("sorting names (es_CL)", by_collator("es_CL", ["oso", "ñandú", "nube"]), ["nube", "ñandú", "oso"]),
        ("upper case (en_AU)", QLocale("en_AU").toUpper("straße"), "STRASSE"),
        ("upper case (tr_TR)", QLocale("tr_TR").toUpper("istanbul"), "İSTANBUL"),
        ("the US-ASCII codec", QStringDecoder("US-ASCII").isValid(), True),
    ]
    berlin = QTimeZone(b"Europe/Berlin")
    if berlin.isValid():  # Qt reads the zones from the system's tzdata; ICU only names them
        standard, long_name = QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName
        checks += [
            ("time-zone name (en_US)", berlin.displayName(standard, long_name, QLocale("en_US")),
             "Central European Standard Time"),
            ("time-zone name (es_CL)", berlin.displayName(standard, long_name, QLocale("es_CL")),
             "hora estándar de Europa central"),
        ]
    for what, got, expected in checks:
        if got != expected:
            raise SelfTestError(f"{what}: got {got!r}, expected {expected!r}")


def _open_window(
    services: Any, cache: Any, syncer: Any, actions: Any, folder: Path
) -> tuple[Any, asyncio.Future[float]]:
    """The main window as the app opens it, and a future resolved by its first paint.

    Its settings go to the throw-away demo folder: a self-test never changes the user's
    window layout. The sync already ran, so the window only checks connections on start.
    """
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from invoicedesk.ui.firstpaint import FirstPaintReporter
    from invoicedesk.ui.main_window import MainWindow

    app = QApplication.instance()
    if isinstance(app, QApplication):
        # Closing the window at the end must not stop the loop under the running coroutine.
        app.setQuitOnLastWindowClosed(False)
    settings = QSettings(str(folder / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, cache, syncer, actions, demo=True, settings=settings, sync_on_start=False)
    painted: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    watcher = FirstPaintReporter(window, announce=False)

    def on_paint(seconds: float) -> None:
        if not painted.done():
            painted.set_result(seconds)

    watcher.painted.connect(on_paint)
    window.show()
    if not window.isVisible():
        raise SelfTestError("the window did not become visible")
    return window, painted


def _paid_orders_without_invoice(cache: Any) -> list[tuple[str, str]]:
    """(account, order id) of every paid order still owing an invoice, newest first."""
    from invoicedesk.cache import Query

    found = [
        (row.summary.account, str(row.summary.id))
        for row in cache.iter_all(Query(source="jumpseller", status="paid"))
        if row.summary.needs_action == "invoice" and not row.summary.invoice_public_id
    ]
    if not found:
        raise SelfTestError("the demo data has no paid order without an invoice")
    return found


async def _close(window: Any, services: Any, cache: Any, demo: Any, worker: ThreadPoolExecutor) -> None:
    """Close everything the run opened, whatever happened; a failure here is logged, not raised."""
    try:
        if window is not None:
            window.close()
            shutdown = getattr(window, "shutdown", None)
            if callable(shutdown):
                await shutdown()
            window.deleteLater()
        if services is not None:
            await services.aclose()
    except Exception:
        log.exception("self-test: closing the window and the clients failed")
    finally:
        if cache is not None:
            cache.close()
        await asyncio.get_running_loop().run_in_executor(worker, demo.close)
