#!/usr/bin/env bash
# Wraps dist/InvoiceDesk.app (built by `pyinstaller invoicedesk.spec` on a Mac) in a
# compressed disk image with an /Applications shortcut: dist/InvoiceDesk-<version>-macos.dmg.
#
# Optional, for Gatekeeper (without them the app opens only after right-click > Open):
#   CODESIGN_IDENTITY="Developer ID Application: <Team> (<TEAMID>)"  signs the app and the image
#   NOTARY_PROFILE=<keychain profile from `xcrun notarytool store-credentials`>  notarises and staples
# Run on macOS only (hdiutil, codesign, xcrun). See docs/INSTALLER.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(uname -s)" = Darwin ] || { echo "make-dmg.sh: needs macOS (hdiutil)" >&2; exit 2; }
DIST=${DIST_DIR:-dist}
APP=$DIST/InvoiceDesk.app
[ -d "$APP" ] || { echo "make-dmg.sh: build $APP first: .venv/bin/pyinstaller --noconfirm invoicedesk.spec" >&2; exit 1; }
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' invoicedesk/__init__.py)
DMG=$DIST/InvoiceDesk-$VERSION-macos.dmg

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  echo "== signing $APP"
  # Hardened runtime is required for notarisation; sign inside-out (--deep covers the bundle).
  codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
  codesign --verify --deep --strict --verbose=2 "$APP"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$APP" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$DMG"
echo "== $DMG"
hdiutil create -volname "InvoiceDesk $VERSION" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$DMG" >/dev/null

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$CODESIGN_IDENTITY" "$DMG"
fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
  echo "== notarising (takes minutes)"
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
echo "   $(du -h "$DMG" | cut -f1)"
