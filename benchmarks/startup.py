"""Start-up, memory and quit, against a bare PySide6 window measured in the same run; and the installer.

    .venv/bin/python benchmarks/startup.py [--records 100000] [--runs 3] [--quick] [--json]
    .venv/bin/python benchmarks/startup.py --frozen [--runs 5] [--build] [--bundle dist/InvoiceDesk]

Default (the window as staff start it, ``python -m invoicedesk``, offscreen):

- start-up: seconds from spawning the process to the main window's first paint event (the
  launcher's clock before ``Popen`` against the ``first-paint`` line the app prints with
  ``INVOICEDESK_REPORT_FIRST_PAINT=1``), with ``--records`` cached records and no accounts;
  beside it a bare PySide6 window (a QMainWindow holding an empty QTableView) started the
  same way, alternating runs, medians. On a shared machine only the ratio holds. Target: <= 2x.
- peak memory: the largest resident set (``VmHWM``, read while the child runs) of the same
  runs, list open. Target: <= 100 MiB.
- quit: with the same cache and a first sync of a 10,000-order store running (a sandbox in
  its own process, real rate limits), the window is closed (hidden ``--quit-after``) and the
  time from the close to the process's exit is taken. Target: <= 0.5 s.

``--frozen``: the PyInstaller bundle: size unpacked (sum of file sizes) and as .tar.gz (gzip
-6, what scripts/build-installer ships), and the frozen start-up against the venv's, with no
accounts and with ``--demo``. Targets: <= 120 MB unpacked, <= 50 MB compressed, frozen start-up
no slower than 1.2x the venv's.

Prints one line per figure with PASS/MISS; ``--json`` adds one last line of JSON with the
figures. Exit status 0 unless ``--strict`` and a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
FIRST_PAINT = re.compile(r"^first-paint (?P<internal>[\d.]+) epoch=(?P<epoch>[\d.]+)$")
MB = 1_000_000
TARGET_UNPACKED_MB = 120
TARGET_COMPRESSED_MB = 50
TARGET_RATIO = 1.2
TARGET_START_RATIO = 2.0
TARGET_RSS_MIB = 100
TARGET_QUIT_S = 0.5
QUIT_LINE = re.compile(r"^quit-requested epoch=(?P<epoch>[\d.]+) sync-running=(?P<running>[01])$")

BARE_WINDOW = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTableView
app = QApplication([])
window = QMainWindow()
window.setCentralWidget(QTableView())
window.resize(1100, 700)
class Watch(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(f"first-paint 0 epoch={time.time():.6f}", file=sys.stderr, flush=True)
            obj.removeEventFilter(self)
            QTimer.singleShot(QUIT_MS, app.quit)
        return False
watch = Watch()
window.installEventFilter(watch)
window.show()
app.exec()
"""


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


@dataclass
class Run:
    paint_s: float | None  # spawn -> first paint
    rss_mib: float  # the child's peak resident size (VmHWM)
    quit_s: float | None  # quit requested -> process gone
    sync_running: bool | None
    status: int
    stderr: str


def peak_rss_watch(pid: int, peak: list[float], stop: threading.Event) -> None:
    """Keep ``peak[0]`` at the process's ``VmHWM`` (MiB) until it ends.

    Not ``ru_maxrss`` from ``wait4``: Linux carries the forked launcher's resident size over
    into the child's ``ru_maxrss`` across ``exec``, so a launcher that has grown (this one,
    after building a cache) would inflate every child's figure. ``VmHWM`` belongs to the
    child's own address space and only ever grows, so the last reading is the peak.
    """
    path = f"/proc/{pid}/status"
    while not stop.is_set():
        try:
            with open(path, encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]) / 1024)
                        break
        except OSError:
            return
        stop.wait(0.01)


def run_to_exit(command: list[str], env: dict[str, str], timeout: float = 180.0) -> Run:
    """Spawn, read stderr to its end and reap the child, watching its peak resident size."""
    spawned = time.time()
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    peak = [0.0]
    stop = threading.Event()
    watcher = threading.Thread(target=peak_rss_watch, args=(proc.pid, peak, stop), daemon=True)
    watcher.start()
    paint = quit_at = None
    running: bool | None = None
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if (m := FIRST_PAINT.match(line.strip())) and paint is None:
                paint = float(m["epoch"]) - spawned
            elif m := QUIT_LINE.match(line.strip()):
                quit_at, running = float(m["epoch"]), m["running"] == "1"
                stop.set()  # the peak is behind us; reading /proc while it exits would only slow it
        proc.wait()
        exited = time.time()
    finally:
        stop.set()
        watchdog.cancel()
        proc.stderr.close()
    watcher.join()
    return Run(paint, peak[0], None if quit_at is None else exited - quit_at, running,
               proc.returncode, "".join(seen)[-3000:])


def app_env(folder: Path, data: Path, config: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # With bytecode, as an install has it (pip compiles at install, the bundle ships .pyc): a
    # shell with PYTHONDONTWRITEBYTECODE would compile every module at every start.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JS_", "MP_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        INVOICEDESK_REPORT_FIRST_PAINT="1",
        INVOICEDESK_DATA_DIR=str(data),
        INVOICEDESK_CONFIG=str(config),
        QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        TMPDIR=str(folder),
    )
    env.update(extra or {})
    return env


def cached_records(records: int, cache_dir: Path | None) -> Path:
    """A cache of ``records`` records, built once (benchmarks/ui.py's, kept in the temp folder)."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import ui  # benchmarks/ui.py

    if cache_dir is not None:
        ui.DATA = cache_dir
    return Path(ui.build_cache(records)) / "cache.sqlite3"


def copy_cache(src: Path, data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    for f in src.parent.glob(src.name + "*"):
        if f.name.endswith(("-wal", "-shm")) or f.name == src.name:
            shutil.copyfile(f, data / f.name)


def window_figures(records: int, runs: int, cache_dir: Path | None) -> dict[str, float]:
    """Bare window and InvoiceDesk with ``records`` cached, alternating: first paint and peak RSS."""
    src = cached_records(records, cache_dir)
    bare_cmd = [sys.executable, "-c", BARE_WINDOW.replace("QUIT_MS", "1000")]
    app_cmd = [sys.executable, "-m", "invoicedesk", "--quit-after", "1.0"]
    with tempfile.TemporaryDirectory(prefix="invoicedesk-bench-start-") as tmp:
        folder = Path(tmp)
        config = folder / "config.toml"
        # One store, so the window opens on the list (with no account it shows the welcome);
        # nothing listens at its address.
        config.write_text(
            '[[jumpseller]]\nname = "bench"\nlogin = "bench"\n'
            'api_url = "http://127.0.0.1:9/v1"\ntoken_env = "BENCH_STORE_TOKEN"\n',
            encoding="utf-8",
        )
        copy_cache(src, folder / "data")
        env = app_env(folder, folder / "data", config, {"BENCH_STORE_TOKEN": "not-a-token"})
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "invoicedesk")], check=True)
        bare: list[Run] = []
        app: list[Run] = []
        for i in range(runs + 1):  # the first pair warms the file and font caches
            b, a = run_to_exit(bare_cmd, env), run_to_exit(app_cmd, env)
            for r, what in ((b, "bare window"), (a, "invoicedesk")):
                if r.status != 0 or r.paint_s is None:
                    raise SystemExit(f"{what} failed (status {r.status}):\n{r.stderr}")
            if i:
                bare.append(b)
                app.append(a)
    bare_paint = statistics.median(r.paint_s for r in bare if r.paint_s is not None)
    app_paint = statistics.median(r.paint_s for r in app if r.paint_s is not None)
    return {
        "records": records,
        "bare_paint_s": bare_paint,
        "app_paint_s": app_paint,
        "startup_ratio": app_paint / bare_paint,
        "bare_rss_mib": max(r.rss_mib for r in bare),
        "app_rss_mib": max(r.rss_mib for r in app),
    }


def quit_figures(records: int, orders: int, runs: int, cache_dir: Path | None) -> dict[str, float | bool]:
    """Close the window while a first sync runs against a sandbox in its own process; time the exit."""
    from sandbox_process import SandboxProcess

    src = cached_records(records, cache_dir)
    times: list[float] = []
    running: list[bool] = []
    with SandboxProcess(seed=3, orders=orders, invoices=orders, stores=1) as sb, \
            tempfile.TemporaryDirectory(prefix="invoicedesk-bench-quit-") as tmp:
        folder = Path(tmp)
        config, secrets = write_config(sb, folder)
        for i in range(runs):
            data = folder / f"data-{i}"
            copy_cache(src, data)
            r = run_to_exit([sys.executable, "-m", "invoicedesk", "--quit-after", "4"],
                            app_env(folder, data, config, secrets))
            if r.status != 0 or r.quit_s is None:
                raise SystemExit(f"quit run failed (status {r.status}):\n{r.stderr}")
            times.append(r.quit_s)
            running.append(bool(r.sync_running))
            shutil.rmtree(data, ignore_errors=True)
    return {"quit_s": max(times), "quit_median_s": statistics.median(times),
            "quit_sync_running": all(running)}


def write_config(sb: object, folder: Path) -> tuple[Path, dict[str, str]]:
    """The sandbox's accounts in a config file; the secrets in the environment, as staff would."""
    lines: list[str] = []
    env: dict[str, str] = {}
    for i, store in enumerate(sb.stores):  # type: ignore[attr-defined]
        lines += ["[[jumpseller]]", f'name = "{store.login}"', f'login = "{store.login}"',
                  f'api_url = "{sb.jumpseller_url}"', f'invoicing_url = "{sb.invoicing_url}"',  # type: ignore[attr-defined]
                  f'token_env = "JS_TOKEN_{i}"', ""]
        env[f"JS_TOKEN_{i}"] = store.token
    for i, seller in enumerate(sb.sellers):  # type: ignore[attr-defined]
        lines += ["[[marketplacer]]", f'name = "{seller.name}"', f'api_url = "{sb.marketplacer_url}"',  # type: ignore[attr-defined]
                  f'api_key_env = "MP_KEY_{i}"', f'currency = "{seller.currency}"', ""]
        env[f"MP_KEY_{i}"] = seller.api_key
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, env


def bundle_figures(bundle: Path) -> dict[str, float]:
    unpacked = unpacked_size(bundle)
    with tempfile.TemporaryDirectory() as tmp:
        packed = compressed_size(bundle, Path(tmp))
    return {"unpacked_mb": unpacked / MB, "targz_mb": packed / MB}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--records", type=int, default=100_000, help="cached records (default 100,000)")
    parser.add_argument("--orders", type=int, default=10_000, help="orders in the store synced at quit")
    parser.add_argument("--quick", action="store_true", help="10,000 records, 2,000 orders, 2 runs")
    parser.add_argument("--skip-quit", action="store_true")
    parser.add_argument("--cache-dir", type=Path, help="where the benchmark caches are kept")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    parser.add_argument("--frozen", action="store_true", help="measure the PyInstaller bundle instead")
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "InvoiceDesk")
    parser.add_argument("--build", action="store_true", help="with --frozen: build it first")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if args.quick:
        args.records, args.orders, args.runs = 10_000, 2_000, 2

    misses = 0

    def verdict(ok: bool) -> str:
        nonlocal misses
        misses += not ok
        return "PASS" if ok else "MISS"

    if args.frozen:
        status = frozen_main(args, verdict)
        return 1 if (args.strict and misses) else status

    w = window_figures(args.records, args.runs, args.cache_dir)
    out: dict[str, object] = dict(w)
    print(f"Start-up to the first painted list, {args.records:,} cached records, median of {args.runs} "
          f"(offscreen, venv):")
    print(f"  bare PySide6 window {w['bare_paint_s']:.3f} s, InvoiceDesk {w['app_paint_s']:.3f} s: "
          f"{w['startup_ratio']:.2f}x  (target <= {TARGET_START_RATIO:g}x: "
          f"{verdict(w['startup_ratio'] <= TARGET_START_RATIO)})")
    print(f"  peak memory, list open: {w['app_rss_mib']:.1f} MiB (bare window {w['bare_rss_mib']:.1f} MiB; "
          f"target <= {TARGET_RSS_MIB} MiB: {verdict(w['app_rss_mib'] <= TARGET_RSS_MIB)})")
    if not args.skip_quit:
        q = quit_figures(args.records, args.orders, max(1, args.runs - 1), args.cache_dir)
        out.update(q)
        print(f"  quit with a sync running ({args.orders:,}-order store): close -> exit worst "
              f"{q['quit_s']:.3f} s, median {q['quit_median_s']:.3f} s, sync was running: "
              f"{'yes' if q['quit_sync_running'] else 'NO'}  (target <= {TARGET_QUIT_S} s: "
              f"{verdict(float(q['quit_s']) <= TARGET_QUIT_S)})")
    if args.json:
        print(json.dumps(out), flush=True)
    return 1 if (args.strict and misses) else 0


def frozen_main(args: argparse.Namespace, verdict: Callable[[bool], str]) -> int:
    bundle: Path = args.bundle.resolve()
    if args.build or not frozen_executable(bundle).exists():
        print(f"build: {build(bundle):.0f} s")
    exe = frozen_executable(bundle)
    b = bundle_figures(bundle)
    out: dict[str, object] = dict(b)
    print(f"bundle unpacked: {b['unpacked_mb']:.1f} MB  (target <= {TARGET_UNPACKED_MB} MB: "
          f"{verdict(b['unpacked_mb'] <= TARGET_UNPACKED_MB)})")
    print(f"bundle .tar.gz:  {b['targz_mb']:.1f} MB  (target <= {TARGET_COMPRESSED_MB} MB: "
          f"{verdict(b['targz_mb'] <= TARGET_COMPRESSED_MB)})")
    venv = [sys.executable, "-m", "invoicedesk"]
    for case, extra in (("no accounts", []), ("--demo", ["--demo"])):
        frozen_med, frozen_own, frozen_all = measure([str(exe), *extra], args.runs)
        venv_med, venv_own, venv_all = measure([*venv, *extra], args.runs)
        ratio = frozen_med / venv_med
        out[f"frozen_over_venv{'_demo' if extra else ''}"] = ratio
        print(f"first paint, {case}: frozen {frozen_med:.3f} s (own clock {frozen_own:.2f}), "
              f"venv {venv_med:.3f} s (own clock {venv_own:.2f}); frozen/venv {ratio:.2f} "
              f"(target <= {TARGET_RATIO}: {verdict(ratio <= TARGET_RATIO)})")
        print(f"  runs frozen: {', '.join(f'{x:.3f}' for x in frozen_all)}")
        print(f"  runs venv:   {', '.join(f'{x:.3f}' for x in venv_all)}")
    if args.json:
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
