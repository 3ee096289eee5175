#!/usr/bin/env python3
"""Render the README's screenshots of the demo window, offscreen, into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts the built-in demo exactly as ``invoicedesk --demo`` does (sandbox, first sync), then:

- ``main.png``: the combined list with a paid order selected; the detail pane shows the
  invoice Create Invoice would make;
- ``mark-sent.png``: the Mark Sent dialog over the window, for a Buy Online invoice;
- ``dark.png``: the same window with the dark palette.

Needs no display (Qt's offscreen platform) but does need fonts (fonts-dejavu-core).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("INVOICEDESK_THEME", "light")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPoint, QRect, Qt  # noqa: E402
from PySide6.QtGui import QColor, QCursor, QFont, QPainter, QPalette, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget  # noqa: E402

SIZE = (1600, 900)
LIST_WIDTH = 1140


async def settle(rounds: int = 5) -> None:
    """Let Qt lay out and paint (yielding to the loop; processEvents() inside a coroutine would
    re-enter qasync's task runner)."""
    for _ in range(rounds):
        await asyncio.sleep(0.05)


def over(window: QWidget, dialog: QWidget) -> QPixmap:
    """The window with a dialog drawn on it (with a plain title bar), dimmed behind, as a
    desktop shows it: an offscreen grab has no window manager to draw the frame."""
    shot = window.grab()
    body = dialog.grab()
    bar = 30
    w, h = body.width(), body.height() + bar
    x = (shot.width() - w) // 2
    y = (shot.height() - h) // 3
    painter = QPainter(shot)
    painter.fillRect(shot.rect(), QColor(0, 0, 0, 70))
    for i, alpha in enumerate((40, 28, 16, 8)):  # a soft shadow
        painter.fillRect(QRect(x - i + 4, y - i + 6, w + 2 * i, h + 2 * i), QColor(0, 0, 0, alpha))
    palette = dialog.palette()
    painter.fillRect(QRect(x, y, w, bar), palette.color(QPalette.ColorRole.Window).darker(112))
    font = QFont(dialog.font())
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(palette.color(QPalette.ColorRole.WindowText))
    painter.drawText(QRect(x, y, w, bar), Qt.AlignmentFlag.AlignCenter, dialog.windowTitle())
    painter.drawPixmap(QPoint(x, y + bar), body)
    painter.setPen(QColor(0, 0, 0, 90))
    painter.drawRect(QRect(x - 1, y - 1, w + 1, h + 1))
    painter.end()
    return shot


def key(summary: object) -> tuple[str, str, str]:
    from invoicedesk.ui.records_model import record_key

    return record_key(summary)  # type: ignore[arg-type]


def plain_order(order: object) -> bool:
    """A private customer with one or two items: the whole invoice preview fits on screen."""
    from invoicedesk.domain import Order

    return isinstance(order, Order) and not order.is_business and 1 <= len(order.lines) <= 2


async def show_order(window: object, order: object) -> None:
    """Select the order and scroll its details to the invoice preview."""
    w: object = window
    w.select_record("jumpseller", order.account, order.id)  # type: ignore[attr-defined]
    window.statusBar().clearMessage()  # type: ignore[attr-defined]
    await settle()
    detail = w.detail  # type: ignore[attr-defined]
    scroll = detail.findChild(QScrollArea, "detailScroll")
    preview = detail.findChild(QWidget, "previewSection")
    if scroll is not None and preview is not None:
        scroll.ensureWidgetVisible(preview, 0, 12)
    await settle()


async def shoot(app: QApplication, out: Path) -> None:
    from invoicedesk.actions import Actions
    from invoicedesk.cache import Cache, Query
    from invoicedesk.demo import start_demo
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.main_window import MainWindow
    from invoicedesk.ui.palette import dark_palette

    demo = await asyncio.get_running_loop().run_in_executor(None, start_demo)
    services = Services(demo.config, demo.secrets, demo.data_dir)
    cache = Cache.open(demo.data_dir)
    window = MainWindow(services, cache, Syncer(services, cache), Actions(services, cache), demo=True)
    try:
        window.resize(*SIZE)
        window.show()
        window.start()
        await asyncio.wait_for(window.ready(), timeout=120)
        window.statusBar().clearMessage()
        window.splitter.setSizes([LIST_WIDTH, SIZE[0] - LIST_WIDTH])
        QCursor.setPos(SIZE[0] * 2, SIZE[1] * 2)  # no button under the pointer (no hover look)

        # 1. A paid order waiting for its invoice: the pane previews the invoice.
        order = next(
            r.summary
            for r in cache.iter_all(Query(source="jumpseller", status="paid", needs_action=True))
            if r.summary.account == "demo-store" and plain_order(cache.get(*key(r.summary)))
        )
        await show_order(window, order)
        window.grab().save(str(out / "main.png"))
        print(f"main.png: order {order.id} of {order.account}")

        # 2. Mark Sent for a paid Buy Online invoice.
        invoice = next(
            r.summary
            for r in cache.iter_all(Query(source="marketplacer", status="paid"))
            if r.summary.delivery_type == "buy_online"
        )
        window.select_record("marketplacer", invoice.account, invoice.id)
        window.open_mark_sent()
        dialog = window.mark_sent_dialog
        assert dialog is not None
        dialog.tracking_edit.setText("33PKP7266921")
        dialog.carrier_combo.setCurrentText("Australia Post")
        dialog.note_edit.setText("Left with reception")
        dialog.adjustSize()
        await settle()
        over(window, dialog).save(str(out / "mark-sent.png"))
        dialog.close()
        print(f"mark-sent.png: invoice {invoice.id}")

        # 3. The dark palette, same order selected.
        app.setPalette(dark_palette())
        await show_order(window, order)
        await settle(10)
        window.grab().save(str(out / "dark.png"))
        print("dark.png")
    finally:
        window.close()
        await window.shutdown()
        await services.aclose()
        cache.close()
        demo.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync

    from invoicedesk.ui.palette import ThemeFollower

    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    ThemeFollower(app)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        runner.run(shoot(app, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
