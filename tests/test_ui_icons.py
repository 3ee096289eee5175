"""The app's icons: every one is drawn, renders sharp at any size, and is found when frozen."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from invoicedesk.ui import icons


def _ink(image) -> int:
    """How many pixels of a rendered icon are not transparent."""
    return sum(
        1 for y in range(image.height()) for x in range(image.width()) if image.pixelColor(x, y).alpha() > 0
    )


@pytest.mark.parametrize("name", icons.NAMES)
def test_every_icon_renders_something_at_small_and_large_sizes(qapp, name: str) -> None:
    assert icons.icon_path(name).is_file()
    ic = icons.icon(name)
    assert not ic.isNull()
    for size in (16, 64):
        image = ic.pixmap(size, size).toImage()
        assert image.width() == size
        inked = _ink(image)
        # A line icon covers a visible share of its square, never all of it.
        assert size * size * 0.05 < inked < size * size * 0.9, (name, size, inked)


def test_service_marks_are_told_apart_by_colour(qapp) -> None:
    """Staff tell a store order from a marketplace invoice at a glance: different hues."""

    def hue(name: str) -> int:
        image = icons.icon(name).pixmap(48, 48).toImage()
        hues = [
            image.pixelColor(x, y).hsvHue()
            for y in range(48)
            for x in range(48)
            if image.pixelColor(x, y).alpha() > 200
        ]
        return sorted(hues)[len(hues) // 2]

    assert abs(hue("jumpseller") - hue("marketplacer")) > 60


def test_unknown_icon_name_is_a_programming_error(qapp) -> None:
    with pytest.raises(KeyError, match="No icon called"):
        icons.icon("invioce")


def test_icons_are_found_inside_a_pyinstaller_bundle(
    qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(icons.icons_dir(), bundle / "resources" / "icons")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert icons.icon_path("sync") == bundle / "resources" / "icons" / "sync.svg"
    icons.icon.cache_clear()
    try:
        assert not icons.icon("sync").pixmap(24, 24).isNull()
    finally:
        icons.icon.cache_clear()
