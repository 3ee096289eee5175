"""Every InvoiceDesk figure in one table, each beside its target, with PASS or MISS.

    .venv/bin/python benchmarks/run_all.py            # full sizes (several minutes)
    .venv/bin/python benchmarks/run_all.py --quick    # smaller sizes, a fast check
    .venv/bin/python benchmarks/run_all.py --only startup,ui

Each benchmark runs as its own process (``benchmarks/<name>.py ... --json``) and this script
reads the last line of JSON it prints; a benchmark that fails, or prints no JSON, shows as
"not measured" with the reason, and the others still run. Times hold only as ratios on a
shared machine, so start-up is measured against a bare PySide6 window started in the same run
(``startup.py``). The installer's size is read from ``dist/InvoiceDesk`` when it has been
built (``scripts/build-installer``), else the row says "not built". Figures are printed,
never asserted: the exit status is 0 unless a benchmark itself failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
MB = 1_000_000
# The list's budgets: one frame at 60 Hz for a stall, 20 ms of work per search, 100 ms a sort.
STALL_TARGET = "<= 16 ms"
SEARCH_TARGET = "<= 20 ms worst"
SORT_TARGET = "<= 100 ms every column"


@dataclass
class Row:
    what: str
    figure: str
    target: str
    ok: bool | None  # None: not measured


def run_json(script: str, args: list[str], timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run ``benchmarks/<script>`` with ``args``; (its last JSON line, why not) ."""
    cmd = [sys.executable, str(BENCH / script), *args]
    started = time.monotonic()
    print(f"... {script} {' '.join(args)}", flush=True)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None, f"{script} took more than {timeout:.0f} s"
    print(f"    done in {time.monotonic() - started:.0f} s", flush=True)
    for line in reversed(proc.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return dict(json.loads(line)), ""
            except json.JSONDecodeError:
                break
    tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
    if proc.returncode == 2 and "--json" in proc.stderr:
        return None, f"{script} has no --json yet"
    return None, f"{script} exit {proc.returncode}, no JSON: {tail[:90]}"


def missing(what: str, target: str, why: str) -> Row:
    return Row(what, f"not measured ({why})", target, None)


def sync_rows(quick: bool) -> list[Row]:
    orders = 2_000 if quick else 10_000
    alone = f"first sync, {orders:,}-order store alone"
    what = f"first sync, {orders:,}-order store (+{orders:,} invoices at once)"
    target = "<= 1.2x the rate-limit bound"
    data, why = run_json("sync.py", ["--orders", str(orders), "--invoices", str(orders), "--first-only",
                                     "--json"], timeout=900)
    rows = []
    for label, key in ((alone, "store_alone"), (what, "first_sync")):
        if data is None or f"{key}_ratio" not in data:
            rows.append(missing(label, target, why or "no first-sync figure"))
            continue
        ratio = float(data[f"{key}_ratio"])
        error = data.get(f"{key}_error")
        figure = (f"{data[f'{key}_s']:.1f} s vs bound {data[f'{key}_bound_s']:.1f} s = {ratio:.2f}x"
                  + (f" ({error})" if error else ""))
        rows.append(Row(label, figure, target, ratio <= 1.2 and not error))
    return rows


def ui_rows(quick: bool) -> list[Row]:
    size, sync = (10_000, 2_000) if quick else (100_000, 10_000)
    data, why = run_json("ui.py", ["--sizes", str(size), "--sync", str(sync), "--json"], timeout=1800)
    stall = f"worst GUI stall, sync of {sync:,}+{sync:,}"
    search = f"search as you type, {size:,} records"
    sort = f"header-click sort, {size:,} records"
    if data is None:
        return [missing(stall, STALL_TARGET, why), missing(search, SEARCH_TARGET, why),
                missing(sort, SORT_TARGET, why)]
    rows = []
    if "stall_worst_ms" in data:
        worst = float(data["stall_worst_ms"])
        p99 = data.get("stall_p99_ms")
        rows.append(Row(stall, f"{worst:.0f} ms" + (f" (p99 {float(p99):.0f} ms)" if p99 is not None else ""),
                        STALL_TARGET, worst <= 16))
    else:
        rows.append(missing(stall, STALL_TARGET, "no stall figure"))
    if "search_worst_ms" in data:
        worst = float(data["search_worst_ms"])
        rows.append(Row(search, f"worst {worst:.1f} ms, median {float(data['search_median_ms']):.1f} ms",
                        SEARCH_TARGET, worst <= 20))
    else:
        rows.append(missing(search, SEARCH_TARGET, "no search figure"))
    if "sort_worst_ms" in data:
        worst = float(data["sort_worst_ms"])
        rows.append(Row(sort, f"worst {worst:.0f} ms ({data.get('sort_worst_column', '?')})",
                        SORT_TARGET, worst <= 100))
    else:
        rows.append(missing(sort, SORT_TARGET, "no sort figure"))
    return rows


def startup_rows(quick: bool) -> list[Row]:
    extra = ["--cache-dir", str(CACHE_DIR)] if CACHE_DIR is not None else []
    data, why = run_json("startup.py", ["--json", *(["--quick"] if quick else []), *extra], timeout=1200)
    records = 10_000 if quick else 100_000
    start = f"start-up to the painted list, {records:,} records"
    memory = f"peak memory, list open, {records:,} records"
    quit_ = f"quit with {records:,} records, a sync running"
    if data is None:
        return [missing(start, "<= 2x bare window", why), missing(memory, "<= 100 MiB", why),
                missing(quit_, "<= 0.5 s", why)]
    ratio = float(data["startup_ratio"])
    rows = [
        Row(start, f"{data['app_paint_s']:.3f} s vs bare window {data['bare_paint_s']:.3f} s = {ratio:.2f}x",
            "<= 2x bare window", ratio <= 2.0),
        Row(memory, f"{data['app_rss_mib']:.1f} MiB (bare window {data['bare_rss_mib']:.1f} MiB)",
            "<= 100 MiB", float(data["app_rss_mib"]) <= 100),
    ]
    if "quit_s" in data:
        worst = float(data["quit_s"])
        running = "" if data.get("quit_sync_running") else " (the sync had already ended!)"
        rows.append(Row(quit_, f"worst {worst:.3f} s, median {float(data['quit_median_s']):.3f} s{running}",
                        "<= 0.5 s", worst <= 0.5 and bool(data.get("quit_sync_running"))))
    else:
        rows.append(missing(quit_, "<= 0.5 s", "no quit figure"))
    return rows


def installer_rows(_quick: bool) -> list[Row]:
    bundle = ROOT / "dist" / "InvoiceDesk"
    if not bundle.is_dir():
        return [Row("installer, unpacked", "not built (scripts/build-installer)", "<= 120 MB", None),
                Row("installer, .tar.gz", "not built", "<= 50 MB", None)]
    unpacked = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "bundle.tar.gz"
        with tarfile.open(target, "w:gz", compresslevel=6) as tar:
            tar.add(bundle, arcname=bundle.name)
        packed = target.stat().st_size
    return [Row("installer, unpacked", f"{unpacked / MB:.1f} MB", "<= 120 MB", unpacked <= 120 * MB),
            Row("installer, .tar.gz", f"{packed / MB:.1f} MB", "<= 50 MB", packed <= 50 * MB)]


CACHE_DIR: Path | None = None  # --cache-dir, for startup.py

PARTS: dict[str, Callable[[bool], list[Row]]] = {
    "sync": sync_rows,
    "ui": ui_rows,
    "startup": startup_rows,
    "installer": installer_rows,
}


def machine_reference_ms() -> float:
    """Best of five of a fixed pure-Python loop, in ms: how fast this shared machine runs now.

    Printed before and after the benchmarks so two runs can be compared: the ms figures of
    the list (search, sort, stall) move with it, one run to the next, by up to 2x here."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def table(rows: list[Row]) -> str:
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("what", "figure", "target")]
    out = []
    for r in rows:
        mark = "----" if r.ok is None else ("PASS" if r.ok else "MISS")
        out.append(f"{r.what:<{widths[0]}}  {r.figure:<{widths[1]}}  {r.target:<{widths[2]}}  {mark}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a fast check, not the figures")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--cache-dir", type=Path,
                        help="where startup.py keeps its cached records (default: benchmarks/ui.py's folder)")
    args = parser.parse_args()
    global CACHE_DIR
    CACHE_DIR = args.cache_dir
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    before = machine_reference_ms()
    rows: list[Row] = []
    for part in chosen:
        rows += PARTS[part](args.quick)
    after = machine_reference_ms()
    print()
    print(f"InvoiceDesk figures{' (--quick: smaller sizes)' if args.quick else ''}:")
    print(table(rows))
    print(f"machine speed: a fixed 2M-step Python loop took {before:.0f} ms before the benchmarks, "
          f"{after:.0f} ms after (compare runs by it: the list's ms figures move with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
