"""The window's start-up: a QApplication and one qasync event loop (``invoicedesk`` without a command).

Order matters for a Qt + asyncio app: the QApplication exists first, then one qasync loop
runs both Qt and asyncio; network clients are created inside that running loop and closed
before it stops, so quitting leaves no pending task and no "Event loop is closed" noise.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import linecache
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from invoicedesk import APP_NAME, __version__

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from invoicedesk.cache import Cache

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="invoicedesk",
        description="Jumpseller orders and Marketplacer invoices in one window. "
        "With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--config", type=Path, help="configuration file (TOML)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in sandbox with sample data in a throw-away folder",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="with --demo: check this installation end to end (sandbox, sync, window, one invoice), "
        "then quit with status 0 when everything works",
    )
    parser.add_argument("--exit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    parser.add_argument("--screenshot", type=Path, metavar="PNG", help=argparse.SUPPRESS)
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Open the window (``invoicedesk.__main__`` has already sent commands to the command line)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.self_test and not args.demo:
        print("invoicedesk: --self-test needs --demo (it creates an invoice: never at a real shop).",
              file=sys.stderr)
        return 2
    status = run_gui(args)
    _exit_now(status)
    return status  # not reached


def _exit_now(status: int) -> NoReturn:
    """End the window's process without tearing every module and Qt wrapper down one by one.

    Everything that matters is closed by then (window, clients, sync child, cache); logs and
    standard streams are flushed here, and the QApplication is destroyed first so the desktop's
    clipboard manager still receives what staff copied.
    """
    from PySide6.QtWidgets import QApplication

    logging.shutdown()
    app = QApplication.instance()
    if app is not None:
        app.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    os._exit(status)


def run_gui(args: argparse.Namespace) -> int:
    from invoicedesk.ui.qt_feature import lighten_import_hook

    # No collections while start-up allocates its modules, classes and widgets (they are not
    # garbage): about 60 ms of CPU to the first paint. quiet_gc turns it back on after it.
    gc.disable()
    # PySide6 would read the source of every module imported after it (see qt_feature).
    lighten_import_hook()
    import qasync
    from PySide6.QtWidgets import QApplication

    from invoicedesk.logs import setup_logging
    from invoicedesk.ui.appicon import app_icon
    from invoicedesk.ui.crash import install_crash_handlers

    setup_logging()
    if args.self_test:
        from invoicedesk.ui.selftest import prepare_platform

        prepare_platform()  # before the QApplication: offscreen when there is no display
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_NAME])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    # Closing the window ends our coroutine, which then stops the loop; Qt must not quit
    # underneath a running coroutine ("Event loop stopped before Future completed").
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("invoicedesk")  # matches packaging/linux/invoicedesk.desktop
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        # Unhandled errors: logged with their traceback and shown, instead of vanishing.
        install_crash_handlers(app, runner.get_loop())
        return runner.run(_gui_main(app, args))


async def _gui_main(app: object, args: argparse.Namespace) -> int:
    from PySide6.QtCore import QSettings

    from invoicedesk.actions import Actions
    from invoicedesk.cache import Cache
    from invoicedesk.cache.schema import CACHE_FILE
    from invoicedesk.config import KeyringSecrets, load_config
    from invoicedesk.errors import InvoiceDeskError
    from invoicedesk.paths import data_dir
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.firstpaint import watch_first_paint
    from invoicedesk.ui.main_window import MainWindow
    from invoicedesk.ui.palette import ThemeFollower

    if args.self_test:
        from invoicedesk.ui.selftest import run_self_test

        gc.enable()
        return await run_self_test()
    demo = None
    try:
        if args.demo:
            from invoicedesk.demo import start_demo

            demo = await asyncio.get_running_loop().run_in_executor(None, start_demo)
            services = Services(demo.config, demo.secrets, demo.data_dir)
        else:
            services = Services(load_config(args.config), KeyringSecrets(), data_dir())
        # Not Cache.open: its quick_check runs once the list has painted (see _check_cache).
        # Opening still refuses what is not ours and sets aside a file already known damaged.
        cache = Cache(services.data_dir / CACHE_FILE)
    except InvoiceDeskError as exc:
        print(f"invoicedesk: {exc}", file=sys.stderr)
        if demo is not None:
            demo.close()
        return 2

    ThemeFollower(app)  # type: ignore[arg-type]
    # Window layout (size, splitter, columns) lives beside the cache: per data folder, so a
    # demo run or a test never rearranges the real window.
    settings = QSettings(str(services.data_dir / "window.ini"), QSettings.Format.IniFormat)
    closed = asyncio.Event()
    window = MainWindow(
        services,
        cache,
        Syncer(services, cache),
        Actions(services, cache),
        demo=demo is not None,
        settings=settings,
    )
    window.closed.connect(closed.set)
    painted = asyncio.Event()
    # Prints "first-paint ..." only with INVOICEDESK_REPORT_FIRST_PAINT=1.
    watch_first_paint(window).painted.connect(lambda _seconds: painted.set())
    window.controller.hold_reads()  # no second connection before the cache is checked
    window.show()
    status = 0
    damage: str | None = None
    try:
        try:
            await asyncio.wait_for(painted.wait(), FIRST_PAINT_WAIT)
        except TimeoutError:
            pass  # minimised or hidden at start: carry on
        quiet_gc()  # after the paint: its full collection would only delay it
        damage = await _check_cache(cache, closed)
        if damage is not None:
            # Nothing has written yet (start-up work waits for the check): close everything,
            # then set the file aside below, once no connection of ours is open on it.
            cache.mark_damaged(damage)
            window.close()
            status = 1
        elif not closed.is_set():
            window.controller.release_reads()
            window.start()
            if args.screenshot or args.exit_after:
                await _scripted_run(window, args)
            elif args.quit_after is not None:
                await _quit_after(window, args.quit_after, closed)
            else:
                await closed.wait()
    finally:
        await window.shutdown()
        try:
            # Closing a TLS connection politely waits for the server's answer: not at quit.
            await asyncio.wait_for(services.aclose(), CLIENTS_CLOSE_WAIT)
        except TimeoutError:
            log.info("quit without waiting for the services to close their connections")
        if damage is None:
            let_go(cache)
        else:
            cache.close()
            await _set_aside(cache, damage, interactive=not (args.screenshot or args.exit_after))
        if demo is not None:
            demo.close()
    return status


CLOSE_WAIT = 0.05  # seconds quitting waits for the cache to close before it exits anyway
CLIENTS_CLOSE_WAIT = 0.2  # seconds quitting waits for the HTTP clients to close their connections


def let_go(cache: Cache, wait: float = CLOSE_WAIT) -> None:
    """Close the cache without making quitting wait for it.

    Closing the last connection copies the write-ahead log into the file (a checkpoint): tens
    to hundreds of milliseconds after a sync. It runs in a daemon thread; a process that exits
    during it loses nothing (SQLite finishes the copy at the next open, and the journal file
    is only ever replaced whole).
    """
    closer = threading.Thread(target=cache.close, name="cache-close", daemon=True)
    closer.start()
    closer.join(wait)


FIRST_PAINT_WAIT = 2.0  # seconds; a window that never paints (minimised at start) is checked anyway


async def _check_cache(cache: Cache, closed: asyncio.Event) -> str | None:
    """The cache's ``quick_check``, off the GUI thread, once the list shows; ``None`` when sound.

    Staff see their list at once; start-up work that writes (finishing interrupted actions,
    the first sync) waits for the verdict. The check runs in a daemon thread, not the loop's
    executor, so closing the window during it never waits for it.
    """
    from invoicedesk.cache.opening import quick_check

    loop = asyncio.get_running_loop()
    verdict: asyncio.Future[str | None] = loop.create_future()

    def run() -> None:
        try:
            result: str | None = quick_check(cache.path)
        except Exception:  # never a reason to stop staff working
            log.exception("quick_check of the cache failed")
            result = None
        loop.call_soon_threadsafe(lambda: verdict.done() or verdict.set_result(result))

    threading.Thread(target=run, name="cache-check", daemon=True).start()
    closing = asyncio.ensure_future(closed.wait())
    try:
        await asyncio.wait({verdict, closing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        closing.cancel()
    return verdict.result() if verdict.done() else None


async def _set_aside(cache: Cache, damage: str, *, interactive: bool) -> None:
    """The cache is damaged: set it aside now (kept, its journal carried over), and say so.

    Opening it again does the work (``CacheFile`` finds the damage noted by ``mark_damaged``
    and rescues the journal into a new cache); every connection of this window is closed by
    then, so the next start simply opens the new cache.
    """
    from invoicedesk.cache import Cache
    from invoicedesk.errors import InvoiceDeskError

    try:
        Cache(cache.path).close()
        text = f"The cache {cache.path} is damaged ({damage})."
    except InvoiceDeskError as exc:  # CacheSetAsideError: what was kept, what was carried over
        text = str(exc)
    text += " Open InvoiceDesk again to carry on."
    log.error("%s", text)
    if sys.stderr is not None:
        print(f"invoicedesk: {text}", file=sys.stderr)
    if interactive:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, text, QMessageBox.StandardButton.Close)
        answered = asyncio.get_running_loop().create_future()
        box.finished.connect(lambda _r: answered.done() or answered.set_result(None))
        box.open()  # never exec() inside a coroutine
        await answered


async def _scripted_run(window: object, args: argparse.Namespace) -> None:
    """Smoke runs and screenshots: let the window settle, optionally grab it, then quit."""
    await asyncio.wait_for(window.ready(), timeout=args.exit_after or 20.0)  # type: ignore[attr-defined]
    if args.screenshot:
        window.grab().save(str(args.screenshot))  # type: ignore[attr-defined]
    window.close()  # type: ignore[attr-defined]


async def _quit_after(window: QWidget, seconds: float, closed: asyncio.Event) -> None:
    """Benchmarks: close the window after ``seconds`` whatever is running (a sync, a check).

    Prints ``quit-requested epoch=<wall clock> sync-running=<0|1>`` to stderr first, so the
    launcher can time the close to the process's exit.
    """
    try:
        await asyncio.wait_for(closed.wait(), seconds)
        return
    except TimeoutError:
        pass
    running = int(bool(window.controller.worker.running))  # type: ignore[attr-defined]
    if sys.stderr is not None:
        print(f"quit-requested epoch={time.time():.6f} sync-running={running}", file=sys.stderr, flush=True)
    window.close()


def quiet_gc() -> None:
    """Fewer, shorter garbage-collector pauses while a sync allocates heavily.

    A full collection stops the GUI thread for as long as it takes to walk every live object
    (45-60 ms with a big list open). Freezing what start-up created (modules, Qt wrappers, the
    first page) takes it out of those walks, and a higher first threshold makes collections
    rare; InvoiceDesk makes few reference cycles.
    """
    # Source lines read during start-up (PySide6's own modules, before qt_feature's answer
    # took over; a traceback logged): nothing here reads them again.
    linecache.clearcache()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    gc.enable()  # run_gui disables it for start-up


if __name__ == "__main__":
    sys.exit(main())
