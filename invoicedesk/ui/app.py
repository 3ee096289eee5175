"""The window's start-up: a QApplication and one qasync event loop (``invoicedesk`` without a command).

Order matters for a Qt + asyncio app: the QApplication exists first, then one qasync loop
runs both Qt and asyncio; network clients are created inside that running loop and closed
before it stops, so quitting leaves no pending task and no "Event loop is closed" noise.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from invoicedesk import APP_NAME, __version__

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Open the window (``invoicedesk.__main__`` has already sent commands to the command line)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.self_test and not args.demo:
        print("invoicedesk: --self-test needs --demo (it creates an invoice: never at a real shop).",
              file=sys.stderr)
        return 2
    return run_gui(args)


def run_gui(args: argparse.Namespace) -> int:
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
    from invoicedesk.config import KeyringSecrets, load_config
    from invoicedesk.errors import InvoiceDeskError
    from invoicedesk.paths import data_dir
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.firstpaint import install_first_paint_report
    from invoicedesk.ui.main_window import MainWindow
    from invoicedesk.ui.palette import ThemeFollower

    if args.self_test:
        from invoicedesk.ui.selftest import run_self_test

        return await run_self_test()
    demo = None
    try:
        if args.demo:
            from invoicedesk.demo import start_demo

            demo = await asyncio.get_running_loop().run_in_executor(None, start_demo)
            services = Services(demo.config, demo.secrets, demo.data_dir)
        else:
            services = Services(load_config(args.config), KeyringSecrets(), data_dir())
        cache = Cache.open(services.data_dir)
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
    install_first_paint_report(window)  # only with INVOICEDESK_REPORT_FIRST_PAINT=1
    window.show()
    quiet_gc()
    window.start()
    try:
        if args.screenshot or args.exit_after:
            await _scripted_run(window, args)
        else:
            await closed.wait()
    finally:
        await window.shutdown()
        await services.aclose()
        cache.close()
        if demo is not None:
            demo.close()
    return 0


async def _scripted_run(window: object, args: argparse.Namespace) -> None:
    """Smoke runs and screenshots: let the window settle, optionally grab it, then quit."""
    await asyncio.wait_for(window.ready(), timeout=args.exit_after or 20.0)  # type: ignore[attr-defined]
    if args.screenshot:
        window.grab().save(str(args.screenshot))  # type: ignore[attr-defined]
    window.close()  # type: ignore[attr-defined]


def quiet_gc() -> None:
    """Fewer, shorter garbage-collector pauses while a sync allocates heavily.

    A full collection stops the GUI thread for as long as it takes to walk every live object
    (45-60 ms with a big list open). Freezing what start-up created (modules, Qt wrappers, the
    first page) takes it out of those walks, and a higher first threshold makes collections
    rare; InvoiceDesk makes few reference cycles.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


if __name__ == "__main__":
    sys.exit(main())
