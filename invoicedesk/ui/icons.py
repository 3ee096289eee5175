"""The app's line icons, drawn as SVG under ``resources/icons/`` so they stay sharp at any DPI.

Loading an ``.svg`` into a ``QIcon`` goes through Qt's SVG icon engine (QtSvg, part of
PySide6-Essentials and bundled by PyInstaller with the Qt plugins). The files are found
through :func:`icons_dir`, the one place that knows where resources live in a source checkout
and in a frozen bundle.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

NAMES: tuple[str, ...] = (
    "jumpseller",
    "marketplacer",
    "sync",
    "invoice",
    "credit_note",
    "sent",
    "ready",
    "collected",
    "export",
    "accounts",
    "online",
    "offline",
    "warning",
)


def icons_dir() -> Path:
    """``resources/icons``: inside the PyInstaller bundle (``sys._MEIPASS``) when frozen, else
    at the root of the source checkout, two levels above this package's ``ui`` folder."""
    frozen = getattr(sys, "_MEIPASS", None)
    root = Path(frozen) if frozen else Path(__file__).resolve().parents[2]
    return root / "resources" / "icons"


def icon_path(name: str) -> Path:
    """The SVG file of icon ``name``; ``KeyError`` for a name we never drew (a typo, not data)."""
    if name not in NAMES:
        raise KeyError(f"No icon called {name!r}; known icons: {', '.join(NAMES)}.")
    return icons_dir() / f"{name}.svg"


@cache
def icon(name: str) -> QIcon:
    """The icon called ``name`` (see :data:`NAMES`), cached: views ask for the same few often.

    A missing file gives an empty ``QIcon`` rather than an exception, so a broken install
    shows a window without pictures instead of no window at all.
    """
    path = icon_path(name)
    return QIcon(str(path)) if path.is_file() else QIcon()
