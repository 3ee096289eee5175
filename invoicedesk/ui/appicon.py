"""The window icon, from the PNGs in ``resources/icons`` (bundled by the PyInstaller spec)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from invoicedesk.ui.icons import icons_dir

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon() -> QIcon:
    """Every size we ship, so each platform picks a sharp one; empty if none is found."""
    icon = QIcon()
    for size in SIZES:
        path = icons_dir() / f"invoicedesk-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon
