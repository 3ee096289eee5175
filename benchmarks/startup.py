"""Installer figures: bundle size, and start-up to the first painted window, frozen vs venv.

    .venv/bin/python benchmarks/startup.py [--runs 5] [--build] [--bundle dist/InvoiceDesk]

- size of the PyInstaller bundle, unpacked (sum of file sizes) and as .tar.gz (gzip -6, what
  scripts/build-installer ships);
- start-up: seconds from spawning the process to the main window's first paint event, taken
  from the ``first-paint`` line the app prints with ``INVOICEDESK_REPORT_FIRST_PAINT=1``
  (the launcher's clock before ``Popen`` against the app's wall clock at the paint, so the
  bootloader and the interpreter start are included). Median of ``--runs`` after one warm-up
  run each, offscreen, for two cases: no accounts (the app alone) and ``--demo`` (the sandbox
  starts before the window). Each run is stopped once it has painted.

Targets (docs/INSTALLER.md): unpacked < 170 MB, compressed < 75 MB, frozen start-up no slower
than 1.2x the venv's. Prints one line per figure and PASS/MISS per target; exit status 0
unless --strict and a target is missed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PAINT = re.compile(r"^first-paint (?P<internal>[\d.]+) epoch=(?P<epoch>[\d.]+)$")
MB = 1_000_000
TARGET_UNPACKED_MB = 170
TARGET_COMPRESSED_MB = 75
TARGET_RATIO = 1.2


def frozen_executable(bundle: Path) -> Path:
    if sys.platform == "darwin" and bundle.suffix == ".app":
        return bundle / "Contents" / "MacOS" / "InvoiceDesk"
    return bundle / ("InvoiceDesk.exe" if os.name == "nt" else "InvoiceDesk")


def build(bundle: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--workpath", str(ROOT / "build" / "pyinstaller"), "--distpath", str(bundle.parent),
         str(ROOT / "invoicedesk.spec")],
        check=True,
        cwd=ROOT,
    )
    return time.monotonic() - started


def unpacked_size(bundle: Path) -> int:
    return sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())


def compressed_size(bundle: Path, folder: Path) -> int:
    target = folder / "bundle.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=bundle.name)
    return target.stat().st_size


def one_start(command: list[str], folder: Path, timeout: float = 60.0) -> tuple[float, float]:
    """(seconds from spawn to first paint, the app's own figure since its process start)."""
    env = dict(
        os.environ,
        INVOICEDESK_REPORT_FIRST_PAINT="1",
        INVOICEDESK_DATA_DIR=str(folder / "data"),
        INVOICEDESK_CONFIG=str(folder / "config.toml"),
        QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        TMPDIR=str(folder),  # the demo's throw-away folder lands here, removed with it
    )
    spawned = time.time()
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            match = FIRST_PAINT.match(line.strip())
            if match:
                return float(match["epoch"]) - spawned, float(match["internal"])
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"{command[0]}: no first-paint line; stderr:\n{''.join(seen)[-2000:]}")
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stderr.close()


def measure(command: list[str], runs: int) -> tuple[float, float, list[float]]:
    with tempfile.TemporaryDirectory(prefix="invoicedesk-bench-") as tmp:
        folder = Path(tmp)
        (folder / "config.toml").write_text("", encoding="utf-8")
        one_start(command, folder)  # warm-up: file cache, font cache
        results = [one_start(command, folder) for _ in range(runs)]
    external = [r[0] for r in results]
    return statistics.median(external), statistics.median(r[1] for r in results), external


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "InvoiceDesk")
    parser.add_argument("--build", action="store_true", help="build the bundle first (and time it)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    bundle: Path = args.bundle.resolve()
    if args.build or not frozen_executable(bundle).exists():
        print(f"build: {build(bundle):.0f} s")
    exe = frozen_executable(bundle)

    misses = 0

    def verdict(ok: bool) -> str:
        nonlocal misses
        misses += not ok
        return "PASS" if ok else "MISS"

    unpacked = unpacked_size(bundle)
    with tempfile.TemporaryDirectory() as tmp:
        packed = compressed_size(bundle, Path(tmp))
    print(f"bundle unpacked: {unpacked / MB:.1f} MB  (target < {TARGET_UNPACKED_MB} MB: "
          f"{verdict(unpacked < TARGET_UNPACKED_MB * MB)})")
    print(f"bundle .tar.gz:  {packed / MB:.1f} MB  (target < {TARGET_COMPRESSED_MB} MB: "
          f"{verdict(packed < TARGET_COMPRESSED_MB * MB)})")

    venv = [sys.executable, "-m", "invoicedesk"]
    for case, extra in (("no accounts", []), ("--demo", ["--demo"])):
        frozen_med, frozen_own, frozen_all = measure([str(exe), *extra], args.runs)
        venv_med, venv_own, venv_all = measure([*venv, *extra], args.runs)
        ratio = frozen_med / venv_med
        print(f"first paint, {case}: frozen {frozen_med:.3f} s (own clock {frozen_own:.2f}), "
              f"venv {venv_med:.3f} s (own clock {venv_own:.2f}); frozen/venv {ratio:.2f} "
              f"(target <= {TARGET_RATIO}: {verdict(ratio <= TARGET_RATIO)})")
        print(f"  runs frozen: {', '.join(f'{x:.3f}' for x in frozen_all)}")
        print(f"  runs venv:   {', '.join(f'{x:.3f}' for x in venv_all)}")
    return 1 if (args.strict and misses) else 0


if __name__ == "__main__":
    sys.exit(main())
