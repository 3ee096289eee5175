"""Start-up as the person waiting sees it: the moment the main window first paints.

With ``INVOICEDESK_REPORT_FIRST_PAINT=1`` the window prints one line to stderr on its first
paint event::

    first-paint 0.734 epoch=1763790000.123456

``0.734`` is seconds since the process started (from ``/proc`` on Linux, 10 ms resolution;
elsewhere since the interpreter imported this module, which undercounts); ``epoch`` is the
wall clock, so a launcher that noted the time before spawning can measure the whole thing,
bootloader included (``benchmarks/startup.py`` does). Without the variable nothing is
installed and nothing is printed.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QWidget

ENV = "INVOICEDESK_REPORT_FIRST_PAINT"
_IMPORTED_AT = time.time()


def process_started_at() -> float:
    """Wall-clock time at which this process started (best effort)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            # The command name (field 2) may hold spaces; fields after ")" are fixed.
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22: starttime, in clock ticks since boot
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        hz = os.sysconf("SC_CLK_TCK")
        return time.time() - (uptime - ticks / hz)
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED_AT


class FirstPaintReporter(QObject):
    """Event filter on a window: notes its first Paint event, then removes itself.

    ``painted`` carries the seconds since process start; with ``announce`` the line above is
    also printed (the self-test listens without printing).
    """

    painted = Signal(float)

    def __init__(self, window: QWidget, *, announce: bool = True) -> None:
        super().__init__(window)
        self._window = window
        self._announce = announce
        self.reported_at: float | None = None
        self._started = process_started_at()
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.reported_at is None and watched is self._window and event.type() == QEvent.Type.Paint:
            now = time.time()
            self.reported_at = now
            if self._announce and sys.stderr is not None:  # a windowed Windows build has no stderr
                print(f"first-paint {now - self._started:.3f} epoch={now:.6f}", file=sys.stderr, flush=True)
            self._window.removeEventFilter(self)
            self.painted.emit(now - self._started)
        return False


def watch_first_paint(window: QWidget) -> FirstPaintReporter:
    """Watch ``window`` for its first paint; the line above is printed only when ``ENV`` is set."""
    return FirstPaintReporter(window, announce=os.environ.get(ENV, "") not in ("", "0"))


def install_first_paint_report(window: QWidget) -> FirstPaintReporter | None:
    """Watch ``window`` when ``INVOICEDESK_REPORT_FIRST_PAINT`` is set; else do nothing."""
    if os.environ.get(ENV, "") in ("", "0"):
        return None
    return FirstPaintReporter(window)
