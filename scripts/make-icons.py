#!/usr/bin/env python3
"""Render the app icon from its SVG sources into every file the installers need.

Run from the repository root with the venv's Python (it needs only PySide6, no Pillow):

    .venv/bin/python scripts/make-icons.py

Writes, next to the sources in ``resources/``:

- ``icons/invoicedesk-<N>.png`` for N in 16 24 32 48 64 128 256 512 (window icon, the .deb's
  ``hicolor`` theme, the Inno Setup wizard);
- ``invoicedesk.ico`` (Windows: the .exe and the installer), PNG-compressed entries 16-256,
  which every Windows since Vista reads;
- ``invoicedesk.icns`` (macOS app bundle), PNG entries 16-1024.

The outputs are committed, so a build never needs this script; run it after changing the SVGs.
Sizes up to 32 px come from ``invoicedesk-small.svg``, a simplified drawing that stays legible
where the text lines of the full drawing would blur into grey.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (the @2x types reuse the same images).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),
    (b"icp6", 64),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),
    (b"ic09", 512),
    (b"ic14", 512),
    (b"ic10", 1024),
)
SMALL_UP_TO = 32


def render(size: int) -> bytes:
    """PNG bytes of the icon at ``size`` x ``size`` pixels, antialiased, transparent corners."""
    source = RESOURCES / ("invoicedesk-small.svg" if size <= SMALL_UP_TO else "invoicedesk.svg")
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise SystemExit(f"{source}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise SystemExit(f"could not encode the {size} px PNG")
    buffer.close()
    return bytes(data.data())


def ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico whose entries are PNG streams (ICONDIR, ICONDIRENTRY x n, images)."""
    sizes = [s for s in ICO_SIZES if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, images = b"", b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        images += data
        offset += len(data)
    return header + entries + images


def icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns: big-endian 'icns' + length, then (type, length, PNG) elements."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    pngs = {size: render(size) for size in (*PNG_SIZES, 1024)}
    out = RESOURCES / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for size in PNG_SIZES:
        (out / f"invoicedesk-{size}.png").write_bytes(pngs[size])
    (RESOURCES / "invoicedesk.ico").write_bytes(ico(pngs))
    (RESOURCES / "invoicedesk.icns").write_bytes(icns(pngs))
    for path in sorted([*out.glob("*.png"), RESOURCES / "invoicedesk.ico", RESOURCES / "invoicedesk.icns"]):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
