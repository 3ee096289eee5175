"""The installer proves itself: the self-test passes (and fails loudly), the packaging files
agree with each other, and the frozen bundle starts and passes its self-test.

The bundle build takes a minute or two, so it runs only when asked for (``-m slow`` or
``INVOICEDESK_BUILD_INSTALLER=1``, the installer CI job) and when PyInstaller is installed
(``pip install -e '.[build]'``); docs/INSTALLER.md says when CI runs it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import invoicedesk

ROOT = Path(__file__).resolve().parent.parent
NOISE = ("Traceback", "Task was destroyed", "Event loop is closed", "never awaited", "Unclosed")
PASSED = re.compile(r"^self-test passed in [\d.]+ s: synced 3 accounts \(\d+ records\), window painted", re.M)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INVOICEDESK_DATA_DIR=str(tmp_path / "data"))
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------------
# The self-test, from the venv


def test_staff_can_check_an_installation_with_the_self_test(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "invoicedesk", "--demo", "--self-test"],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert PASSED.search(proc.stdout), proc.stdout
    assert re.search(r"invoice \S+ created for order \d+ of '[\w-]+' and attached", proc.stdout)
    for word in NOISE:
        assert word not in proc.stderr, proc.stderr
    # The verdict is in the log too: a windowed Windows build has no console to print it on.
    log = (tmp_path / "data" / "logs" / "invoicedesk.log").read_text(encoding="utf-8")
    assert "self-test passed" in log


def test_self_test_without_demo_is_refused_so_no_real_shop_gets_an_invoice(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "invoicedesk", "--self-test"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
    )
    assert proc.returncode == 2
    assert "--self-test needs --demo" in proc.stderr


def test_a_broken_step_fails_the_self_test_and_names_the_step(
    qtbot, qrun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The invoicing service answers 500 to everything: the run must say so and exit 1."""
    import invoicedesk.demo
    from invoicedesk.ui import selftest

    real_start = invoicedesk.demo.start_demo

    def start_with_broken_invoicing(**kwargs: object) -> invoicedesk.demo.DemoEnvironment:
        demo = real_start(**kwargs)  # type: ignore[arg-type]
        demo.sandbox.inject("invoicing", "500", rate=1.0)  # type: ignore[attr-defined]
        return demo

    monkeypatch.setattr(invoicedesk.demo, "start_demo", start_with_broken_invoicing)
    status = qrun(selftest.run_self_test(), timeout=120_000)

    err = capsys.readouterr().err
    assert status == selftest.EXIT_FAILED
    assert "self-test failed: creating an invoice:" in err, err
    assert "self-test passed" not in err


def test_self_test_goes_offscreen_only_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    from invoicedesk.ui.selftest import prepare_platform

    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    prepare_platform()
    assert os.environ["QT_QPA_PLATFORM"] == "xcb"  # the caller's choice wins

    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    prepare_platform()
    expected = "offscreen" if sys.platform.startswith("linux") else None
    assert os.environ.get("QT_QPA_PLATFORM") == expected

    if sys.platform.startswith("linux"):
        monkeypatch.delenv("QT_QPA_PLATFORM")
        monkeypatch.setenv("DISPLAY", ":0")
        prepare_platform()
        assert "QT_QPA_PLATFORM" not in os.environ  # a desktop shows the real window


# ------------------------------------------------------------------------------------------
# First paint (what benchmarks/startup.py reads)


def test_first_paint_is_reported_once_when_asked(qtbot, monkeypatch, capsys) -> None:
    from PySide6.QtWidgets import QLabel

    from invoicedesk.ui.firstpaint import ENV, install_first_paint_report

    quiet = QLabel("not watched")
    qtbot.addWidget(quiet)
    monkeypatch.delenv(ENV, raising=False)
    assert install_first_paint_report(quiet) is None

    monkeypatch.setenv(ENV, "1")
    window = QLabel("InvoiceDesk")
    qtbot.addWidget(window)
    reporter = install_first_paint_report(window)
    assert reporter is not None
    with qtbot.waitSignal(reporter.painted, timeout=5000) as blocker:
        window.show()
    window.repaint()  # a second paint is not reported again
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("first-paint")]
    assert len(lines) == 1, lines
    match = re.fullmatch(r"first-paint (\d+\.\d{3}) epoch=(\d+\.\d{6})", lines[0])
    assert match, lines[0]
    assert float(match[1]) == pytest.approx(blocker.args[0], abs=0.001)
    assert 0 < float(match[1]) < 3600  # seconds since this process started, not since 1970


# ------------------------------------------------------------------------------------------
# Packaging files agree with each other


def test_icons_exist_at_every_size_and_the_ico_and_icns_hold_them(qapp) -> None:
    from PySide6.QtGui import QImage

    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        image = QImage(str(ROOT / "resources" / "icons" / f"invoicedesk-{size}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()

    ico = (ROOT / "resources" / "invoicedesk.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", ico)
    assert (reserved, kind, count) == (0, 1, 7)
    sizes = []
    for i in range(count):
        w, _h, _c, _r, _planes, _bpp, length, offset = struct.unpack_from("<BBBBHHII", ico, 6 + 16 * i)
        png = QImage.fromData(ico[offset : offset + length])
        assert png.width() == (w or 256)
        sizes.append(png.width())
    assert sizes == [16, 24, 32, 48, 64, 128, 256]

    icns = (ROOT / "resources" / "invoicedesk.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack_from(">I", icns, 4)[0] == len(icns)
    pos, kinds = 8, {}
    while pos < len(icns):
        kind_, length = icns[pos : pos + 4], struct.unpack_from(">I", icns, pos + 4)[0]
        kinds[kind_] = QImage.fromData(icns[pos + 8 : pos + length]).width()
        pos += length
    assert kinds[b"icp4"] == 16 and kinds[b"ic09"] == 512 and kinds[b"ic10"] == 1024


def test_desktop_entry_control_file_and_spec_agree() -> None:
    desktop = (ROOT / "packaging" / "linux" / "invoicedesk.desktop").read_text(encoding="utf-8")
    entry = dict(
        line.split("=", 1) for line in desktop.split("\n\n")[0].splitlines()[1:] if "=" in line
    )
    script = (ROOT / "scripts" / "build-installer").read_text(encoding="utf-8")
    assert entry["Exec"] == "invoicedesk"
    assert 'ln -s /opt/invoicedesk/InvoiceDesk "$stage/usr/bin/invoicedesk"' in script
    assert entry["Icon"] == "invoicedesk"  # the hicolor file name the script installs
    assert "apps/invoicedesk.png" in script
    assert entry["StartupWMClass"] == invoicedesk.APP_NAME

    control = (ROOT / "packaging" / "linux" / "control").read_text(encoding="utf-8")
    depends = re.search(r"^Depends: (.*)$", control, re.M)
    assert depends
    needed = {"libgl1", "libegl1", "libfontconfig1", "fontconfig-config", "libxkbcommon0",
              "libdbus-1-3", "fonts-dejavu-core", "libxcb-cursor0", "libxcb-icccm4"}
    assert needed <= {d.strip().split(" ")[0] for d in depends[1].split(",")}

    spec = (ROOT / "invoicedesk.spec").read_text(encoding="utf-8")
    assert "upx=False" in spec and 'name=APP' in spec and "console=False" in spec
    iss = (ROOT / "packaging" / "windows" / "invoicedesk.iss").read_text(encoding="utf-8")
    assert 'Source: "dist\\InvoiceDesk\\*"' in iss and "SetupIconFile=resources\\invoicedesk.ico" in iss


# ------------------------------------------------------------------------------------------
# The frozen bundle (slow)


def _installer_build_requested(config: pytest.Config) -> bool:
    return os.environ.get("INVOICEDESK_BUILD_INSTALLER") == "1" or "slow" in (config.option.markexpr or "")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .tar.gz and .deb are built on Linux")
def test_frozen_bundle_and_deb_pass_the_self_test(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed: .venv/bin/pip install -e '.[build]'")
    if not _installer_build_requested(request.config):
        pytest.skip("builds the installer (1-2 min): run with -m slow or INVOICEDESK_BUILD_INSTALLER=1")
    dist, work = tmp_path / "dist", tmp_path / "build"
    build = subprocess.run(
        [str(ROOT / "scripts" / "build-installer"), "--no-self-test"],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, DIST_DIR=str(dist), BUILD_DIR=str(work), DEB_COMPRESSION="zstd"),
        cwd=ROOT,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]

    bundle = dist / "InvoiceDesk"
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    # 118.8 MB unpacked, 48.0 MB as .tar.gz on 2026-12-01 (146.6 / 59.0 before ICU's data was
    # trimmed); the targets are 120 / 50 MB.
    assert size <= 120_000_000, f"bundle grew to {size / 1e6:.1f} MB"
    qt = bundle / "_internal" / "PySide6" / "Qt"
    platforms = sorted(p.name for p in (qt / "plugins" / "platforms").iterdir())
    assert platforms == ["libqoffscreen.so", "libqxcb.so"]
    assert not (qt / "translations").exists()
    # ICU's data is the trimmed library (the build host has icupkg and gcc: scripts/setup);
    # the self-test below checks that Qt still gets its answers from it.
    icu_data = next((qt / "lib").glob("libicudata.so.*"))
    assert icu_data.stat().st_size < 6_000_000, build.stderr[-3000:]
    assert "ICU data trimmed" in build.stderr

    version = invoicedesk.__version__
    packed = next(dist.glob(f"InvoiceDesk-{version}-linux-*.tar.gz"))
    assert packed.stat().st_size <= 50_000_000, f".tar.gz grew to {packed.stat().st_size / 1e6:.1f} MB"
    with tarfile.open(packed) as tar:
        assert "InvoiceDesk/InvoiceDesk" in tar.getnames()

    deb = next(dist.glob(f"invoicedesk_{version}_*.deb"))
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Version", "Depends"], capture_output=True,
                            text=True, check=True).stdout
    assert f"Version: {version}" in fields and "libgl1" in fields and "libc6 (>= 2." in fields
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    assert os.readlink(root / "usr" / "bin" / "invoicedesk") == "/opt/invoicedesk/InvoiceDesk"
    assert (root / "usr/share/icons/hicolor/256x256/apps/invoicedesk.png").is_file()

    # What a user gets after installing the .deb: the bundle from /opt, proving itself.
    run = subprocess.run(
        [str(root / "opt" / "invoicedesk" / "InvoiceDesk"), "--demo", "--self-test"],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(tmp_path),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert PASSED.search(run.stdout), run.stdout
    for word in NOISE:
        assert word not in run.stderr, run.stderr
