"""The app starts against the sandbox, shows its connections, and quits without noise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOISE = (
    "Task was destroyed",
    "Event loop is closed",
    "Traceback",
    "never awaited",
    "Unclosed",
    "QThread: Destroyed",
)


def test_demo_window_starts_and_quits_cleanly(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INVOICEDESK_DATA_DIR=str(tmp_path / "d"))
    proc = subprocess.run(
        [sys.executable, "-m", "invoicedesk", "--demo", "--exit-after", "60", "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for word in NOISE:
        assert word not in proc.stderr, proc.stderr
    assert shot.exists() and shot.stat().st_size > 5000


def test_window_shows_each_account_connected(qtbot, qrun, sandbox_session, tmp_path: Path) -> None:
    from invoicedesk.demo import demo_config
    from invoicedesk.services import Services
    from invoicedesk.ui.main_window import MainWindow

    config, secrets = demo_config(sandbox_session)
    services = Services(config, secrets, tmp_path)
    window = MainWindow(services, demo=True)
    qtbot.addWidget(window)
    window.show()
    qrun(window.ready())
    texts = {
        window.accounts.topLevelItem(i).text(0): window.accounts.topLevelItem(i).text(2)
        for i in range(window.accounts.topLevelItemCount())
    }
    assert set(texts) == {a.name for a in config.accounts}
    assert all(t.startswith("Connected") for t in texts.values()), texts
    assert window.demo_banner.isVisible()
    qrun(window.shutdown())
    qrun(services.aclose())


def test_wrong_token_is_shown_as_a_failed_connection(qtbot, qrun, sandbox_session, tmp_path: Path) -> None:
    from invoicedesk.demo import demo_config
    from invoicedesk.services import Services
    from invoicedesk.ui.main_window import MainWindow

    config, secrets = demo_config(sandbox_session)
    first = config.jumpseller[0]
    secrets.set(first.token_key, "not-the-token")
    services = Services(config, secrets, tmp_path)
    window = MainWindow(services)
    qtbot.addWidget(window)
    qrun(window.ready())
    item = window.accounts.findItems(
        first.name, pytest.importorskip("PySide6.QtCore").Qt.MatchFlag.MatchExactly
    )[0]
    assert not item.text(2).startswith("Connected")
    assert first.name in item.text(2)
    assert "not-the-token" not in item.text(2)
    qrun(window.shutdown())
    qrun(services.aclose())
