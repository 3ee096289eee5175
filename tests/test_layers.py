"""The core stays free of Qt, so it can run headless (command line, scheduled jobs, tests)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import invoicedesk

QT_FREE_EXCLUDED = ("invoicedesk.ui", "invoicedesk.app", "invoicedesk.__main__")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(invoicedesk.__path__, "invoicedesk."):
        if not info.name.startswith(QT_FREE_EXCLUDED):
            names.append(info.name)
    return names


def test_core_modules_exist() -> None:
    mods = core_modules()
    assert "invoicedesk.config" in mods
    assert "invoicedesk.errors" in mods


def test_no_core_module_imports_qt() -> None:
    mods = core_modules()
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"core imported Qt: {out.stdout.strip()}"
