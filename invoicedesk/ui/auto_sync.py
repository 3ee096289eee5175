"""Staying current: when the window syncs by itself, and the menu where staff choose how often.

The plan (:class:`AutoSyncPlan`) is plain arithmetic with no clock and no Qt, so every rule
can be checked by stepping a fake clock: the controller asks it how long to wait, and tells
it how each sync went.

- Every ``minutes`` (5 unless the configuration or the window says otherwise; 0 is off).
- While nothing can be reached, the wait doubles after each failed try, up to
  :data:`MAX_BACKOFF_MINUTES` (or the chosen interval, when that is longer), and each try is
  a light connection check rather than a whole sync.
- When the network comes back (the system says so, or a check gets through) the window syncs
  at once, and the normal interval starts again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from invoicedesk.config import DEFAULT_AUTO_SYNC_MINUTES

DEFAULT_MINUTES = DEFAULT_AUTO_SYNC_MINUTES
MAX_BACKOFF_MINUTES = 30
CHOICES: tuple[tuple[int, str], ...] = (
    (0, "Off"),
    (1, "Every minute"),
    (5, "Every 5 minutes"),
    (15, "Every 15 minutes"),
    (30, "Every 30 minutes"),
)
SETTINGS_KEY = "sync/auto_minutes"  # the window's choice, beside the cache (window.ini)

Step = Literal["sync", "check"]


@dataclass
class AutoSyncPlan:
    """How long until the next automatic try, and what that try is."""

    minutes: int = DEFAULT_MINUTES
    offline_tries: int = 0  # tries in a row that reached no account

    @property
    def on(self) -> bool:
        return self.minutes > 0

    @property
    def offline(self) -> bool:
        return self.offline_tries > 0

    def delay_minutes(self) -> int | None:
        """Minutes until the next try; ``None`` when automatic sync is off."""
        if not self.on:
            return None
        if not self.offline:
            return self.minutes
        cap = max(self.minutes, MAX_BACKOFF_MINUTES)
        return int(min(self.minutes * 2 ** min(self.offline_tries, 16), cap))

    def next_step(self) -> Step:
        """Online: a sync. Offline: first a check that one request gets through."""
        return "check" if self.offline else "sync"

    def reached(self, anything: bool) -> Step | None:
        """A sync or check ended; ``anything``: at least one account answered.

        Returns ``"sync"`` when a check found the network back (sync at once), else ``None``.
        """
        if anything:
            back = self.offline
            self.offline_tries = 0
            return "sync" if back else None
        self.offline_tries += 1
        return None

    def network_back(self) -> Step | None:
        """The system reports the network up again: sync at once if we were offline and on."""
        if self.on and self.offline:
            return "sync"
        return None

    def choose(self, minutes: int) -> None:
        self.minutes = max(minutes, 0)
        self.offline_tries = 0


def build_menu(menu: QMenu, current: int, choose: Callable[[int], None]) -> QMenu:
    """"Sync automatically" with Off, 1, 5, 15 and 30 minutes, the current one checked."""
    sub = menu.addMenu("Sync automatically")
    sub.setObjectName("autoSyncMenu")
    group = QActionGroup(sub)
    group.setExclusive(True)
    known = {m for m, _t in CHOICES}
    choices = list(CHOICES)
    if current not in known:  # a value from the configuration file, e.g. 60
        choices.append((current, f"Every {current} minutes"))
    for minutes, text in choices:
        act = QAction(text, sub)
        act.setObjectName(f"autoSync{minutes}")
        act.setCheckable(True)
        act.setChecked(minutes == current)
        act.setData(minutes)
        act.triggered.connect(lambda _checked=False, m=minutes: choose(m))
        group.addAction(act)
        sub.addAction(act)
    return sub


def saved_minutes(value: object, fallback: int) -> int:
    """The window's remembered choice (QSettings hands back text), else the configuration's."""
    try:
        minutes = int(str(value))
    except ValueError:
        return fallback
    return minutes if 0 <= minutes <= 7 * 24 * 60 else fallback
