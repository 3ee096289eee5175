"""Helpers shared by the window tests: a cache filled by a real sync, copies of it, a wired window."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoicedesk.cache import Cache
from invoicedesk.demo import demo_config


def sync_in_thread(sb: Any, data_dir: Path) -> None:
    """Fill a cache the way the app does (a real sync over HTTP), on a private event loop.

    A thread of its own: the test session's qasync loop counts as running in the main thread,
    so no other loop may run there.
    """
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer

    config, secrets = demo_config(sb)

    async def run() -> None:
        services = Services(config, secrets, data_dir)
        cache = Cache.open(data_dir)
        try:
            results = await Syncer(services, cache).sync_all()
            assert all(r.ok for r in results), [r.error for r in results]
        finally:
            await services.aclose()
            cache.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=120)


def copy_cache(src: Path, folder: Path) -> Path:
    """A consistent copy of a cache file (SQLite's backup API, WAL included) for a test that writes."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "cache.sqlite3"
    dst = sqlite3.connect(target)
    with sqlite3.connect(src / "cache.sqlite3") as s:
        s.backup(dst)
    dst.close()
    return folder


@dataclass
class Desk:
    """One wired window and what it was built from, for a story to drive."""

    window: Any
    services: Any
    cache: Cache
    sandbox: Any

    @property
    def login(self) -> str:
        return str(self.sandbox.stores[0].login)

    @property
    def seller(self) -> str:
        return str(self.sandbox.sellers[0].name)


def close_desk(qrun: Any, desk: Desk) -> None:
    """Shut a story's window down: its tasks, its clients, the window (before the cache: a
    closing view may still ask its model for rows), then the cache."""
    qrun(desk.window.shutdown())
    qrun(desk.services.aclose())
    desk.window.close()
    desk.cache.close()
    desk.window.deleteLater()


def make_desk(
    sb: Any,
    folder: Path,
    *,
    sync_on_start: bool,
    settings: Any = None,
    demo: bool = False,
    team: tuple[str, str] | None = None,
) -> Desk:
    """A window over ``folder``; ``team`` = (database URL, password) turns team mode on."""
    from invoicedesk.actions import Actions
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.main_window import MainWindow

    config, secrets = demo_config(sb)
    if team is not None:
        from dataclasses import replace

        from invoicedesk.config import TeamConfig

        config = replace(config, team=TeamConfig(team[0]))
        assert config.team is not None
        secrets.set(config.team.password_key, team[1])
    services = Services(config, secrets, folder)
    cache = Cache.open(folder)
    window = MainWindow(
        services,
        cache,
        Syncer(services, cache),
        Actions(services, cache),
        demo=demo,
        settings=settings,
        sync_on_start=sync_on_start,
    )
    return Desk(window, services, cache, sb)


def answer(qtbot: Any, window: Any, *, yes: bool = True, dont_ask_again: bool = False) -> str:
    """Answer the window's open question (an action's confirmation); returns what it asked.

    ``yes`` presses the box's go button (its accept role), else Cancel; ``dont_ask_again``
    ticks "Don't ask again" first.
    """
    from PySide6.QtWidgets import QMessageBox

    qtbot.waitUntil(lambda: window.confirm_box is not None and window.confirm_box.isVisible(), timeout=5_000)
    box = window.confirm_box
    text = str(box.text())
    if dont_ask_again:
        from PySide6.QtWidgets import QCheckBox

        check = box.findChild(QCheckBox, "dontAskAgain")
        assert check is not None, "this question offers no \"Don't ask again\""
        check.setChecked(True)
    if yes:
        go = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
        go.click()
    else:
        box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: window.confirm_box is not box, timeout=5_000)
    return text
