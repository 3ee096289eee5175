"""Light and dark palettes that follow the system, plus the few accent colours the window uses.

Qt 6.5+ reports the desktop's colour scheme (``QStyleHints.colorScheme()``), but the platform
styles do not all repaint a dark palette themselves (and the offscreen platform reports no
scheme at all), so the app uses Fusion and sets a palette of its own. ``INVOICEDESK_THEME``
(``dark`` or ``light``) or the hidden ``--dark`` flag force one, e.g. for screenshots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import QByteArray, QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from invoicedesk.ui.icons import icon, icon_path

THEME_ENV = "INVOICEDESK_THEME"


@dataclass(frozen=True, slots=True)
class Tones:
    """Accent colours for banners, boxes and coloured text, readable on the palette's window and base.

    Each ``*_bg``/``*_fg`` pair is a box: the text colour on that background. ``*_text`` colours
    stand on the palette's own window or base colour, ``gift_bg`` under the palette's text colour.
    """

    dark: bool
    info_bg: str
    info_fg: str
    success_bg: str
    success_fg: str
    error_bg: str
    error_fg: str
    demo_bg: str
    demo_fg: str
    warning_bg: str
    warning_fg: str
    gift_bg: str  # behind text in the palette's own text colour (gift-card rows)
    success_text: str  # coloured text straight on the window or base colour
    warning_text: str
    error_text: str
    online: str
    offline: str
    needs_action: str
    link: str


LIGHT_TONES = Tones(
    dark=False,
    info_bg="#e8f1fb",
    info_fg="#17375e",
    success_bg="#e6f4ea",
    success_fg="#14532d",
    error_bg="#fdecea",
    error_fg="#7f1d1d",
    demo_bg="#fff4ce",
    demo_fg="#5c4400",
    warning_bg="#fff2c6",
    warning_fg="#5c4400",
    gift_bg="#f1ebfb",
    success_text="#1b5e33",
    warning_text="#8a5a00",
    error_text="#b3261e",
    online="#1e7d32",
    offline="#b3261e",
    needs_action="#9a4d00",
    link="#0b57d0",
)

DARK_TONES = Tones(
    dark=True,
    info_bg="#1d3047",
    info_fg="#d6e6fa",
    success_bg="#1b3a26",
    success_fg="#cdebd6",
    error_bg="#4a1f1f",
    error_fg="#ffd9d6",
    demo_bg="#4a3b10",
    demo_fg="#ffe9a8",
    warning_bg="#4a3b10",
    warning_fg="#ffe9a8",
    gift_bg="#33294a",
    success_text="#7bd88f",
    warning_text="#ffb86b",
    error_text="#ff8a80",
    online="#7bd88f",
    offline="#ff8a80",
    needs_action="#ffb86b",
    link="#8ab4f8",
)


def forced_theme() -> bool | None:
    """``True`` for dark, ``False`` for light when the environment forces one, else ``None``."""
    value = os.environ.get(THEME_ENV, "").strip().lower()
    if value == "dark":
        return True
    if value == "light":
        return False
    return None


def system_prefers_dark(app: QGuiApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def light_palette() -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    colours = {
        role.Window: "#f4f5f7",
        role.WindowText: "#1c1e21",
        role.Base: "#ffffff",
        role.AlternateBase: "#f2f5f9",
        role.ToolTipBase: "#ffffe8",
        role.ToolTipText: "#1c1e21",
        role.PlaceholderText: "#6b7280",
        role.Text: "#1c1e21",
        role.Button: "#eceef1",
        role.ButtonText: "#1c1e21",
        role.BrightText: "#ffffff",
        role.Highlight: "#2f6fca",
        role.HighlightedText: "#ffffff",
        role.Link: LIGHT_TONES.link,
        role.LinkVisited: "#6a3fb5",
        role.Light: "#ffffff",
        role.Midlight: "#e3e5e8",
        role.Mid: "#b8bcc2",
        role.Dark: "#8e939a",
        role.Shadow: "#5a5e64",
    }
    for r, c in colours.items():
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#9aa0a6"))
    p.setColor(group.Inactive, role.Highlight, QColor("#c9daf3"))
    p.setColor(group.Inactive, role.HighlightedText, QColor("#1c1e21"))
    return p


def dark_palette() -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    colours = {
        role.Window: "#202124",
        role.WindowText: "#e8eaed",
        role.Base: "#17181a",
        role.AlternateBase: "#222428",
        role.ToolTipBase: "#303134",
        role.ToolTipText: "#e8eaed",
        role.PlaceholderText: "#9aa0a6",
        role.Text: "#e8eaed",
        role.Button: "#2d2f33",
        role.ButtonText: "#e8eaed",
        role.BrightText: "#ffffff",
        role.Highlight: "#3d6fb4",
        role.HighlightedText: "#ffffff",
        role.Link: DARK_TONES.link,
        role.LinkVisited: "#c58af9",
        role.Light: "#3c4043",
        role.Midlight: "#33363a",
        role.Mid: "#5f6368",
        role.Dark: "#121314",
        role.Shadow: "#000000",
    }
    for r, c in colours.items():
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#6f7378"))
    p.setColor(group.Disabled, role.Base, QColor("#1d1e20"))
    p.setColor(group.Inactive, role.Highlight, QColor("#34465e"))
    p.setColor(group.Inactive, role.HighlightedText, QColor("#e8eaed"))
    return p


class ThemeFollower(QObject):
    """Applies the light or dark palette now and again whenever the system scheme changes."""

    def __init__(self, app: QApplication, *, force_dark: bool | None = None) -> None:
        super().__init__(app)
        self._app = app
        self._forced = force_dark if force_dark is not None else forced_theme()
        self.dark = False
        app.setStyle("Fusion")
        self.apply()
        if self._forced is None:
            app.styleHints().colorSchemeChanged.connect(lambda _scheme: self.apply())

    def apply(self) -> None:
        dark = self._forced if self._forced is not None else system_prefers_dark(self._app)
        self.dark = bool(dark)
        self._app.setPalette(dark_palette() if self.dark else light_palette())


# The line icons draw in one dark ink; on a dark palette they are redrawn in a light one
# (accents such as the green tick of "ready" keep their colour).
ICON_INK = "#3b4252"
DARK_ICON_INK = "#d8dee9"


@cache
def themed_icon(name: str, dark: bool) -> QIcon:
    """Icon ``name`` for a light or a dark palette."""
    if not dark:
        return icon(name)
    try:
        text = icon_path(name).read_text(encoding="utf-8")
    except OSError:
        return icon(name)
    renderer = QSvgRenderer(QByteArray(text.replace(ICON_INK, DARK_ICON_INK).encode("utf-8")))
    if not renderer.isValid():
        return icon(name)
    out = QIcon()
    for size in (16, 20, 24, 32, 48, 64):
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        out.addPixmap(QPixmap.fromImage(image))
    return out


def is_dark(widget_palette: QPalette | None = None) -> bool:
    return tones(widget_palette).dark


def tones(widget_palette: QPalette | None = None) -> Tones:
    """The accent colours matching the palette in use (judged by its window colour)."""
    p = widget_palette if widget_palette is not None else QGuiApplication.palette()
    return DARK_TONES if p.color(QPalette.ColorRole.Window).lightness() < 128 else LIGHT_TONES
