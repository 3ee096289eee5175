"""The window icon, from the PNGs in ``resources/icons`` (bundled by the PyInstaller spec)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resources_dir() -> Path:
    """``resources/`` beside the frozen app, or at the root of a source checkout."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def app_icon() -> QIcon:
    """Every size we ship, so each platform picks a sharp one; empty if none is found."""
    icon = QIcon()
    folder = resources_dir() / "icons"
    for size in SIZES:
        path = folder / f"invoicedesk-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon
