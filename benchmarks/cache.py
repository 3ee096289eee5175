"""Cache benchmark: open + first page, a search, a sort, and peak memory at 1k/10k/100k records.

Targets: first page under 50 ms at 100,000 records and flat from 1,000 to 100,000; a search
under 100 ms at 100,000; a page sorted by any column read from an index (no sort of every record).

    .venv/bin/python benchmarks/cache.py            # all sizes, each in a fresh process
    .venv/bin/python benchmarks/cache.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def fill(folder: Path, size: int) -> None:
    from invoicedesk.cache import Cache
    from invoicedesk.domain import parse_invoice, parse_order
    from invoicedesk.sandbox import Sandbox

    half = size // 2
    sb = Sandbox(seed=5, orders=half, invoices=size - half, stores=1)
    orders = sb.truth_orders(sb.stores[0].login)
    invoices = sb.truth_invoices(sb.sellers[0].name)
    cache = Cache.open(folder)
    batch: list = []
    for body in orders:
        batch.append(parse_order(body, account=sb.stores[0].login))
        if len(batch) == 1000:
            cache.upsert(batch)
            batch = []
    for res in invoices:
        batch.append(parse_invoice(res, [], account=sb.sellers[0].name, currency="AUD"))
        if len(batch) == 1000:
            cache.upsert(batch)
            batch = []
    cache.upsert(batch)
    cache.close()


def timed(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def child(folder: Path, size: int, fill_s: float) -> dict[str, object]:
    from invoicedesk.cache import SORT_COLUMNS, Cache, Query

    t = time.perf_counter()
    cache = Cache.open(folder)
    first = cache.fetch(limit=200)
    cold_ms = (time.perf_counter() - t) * 1000
    assert len(first) == 200
    sample = first[57].summary
    out = {
        "records": cache.count(),
        "open_first_page_cold_ms": round(cold_ms, 2),
        "first_page_ms": round(timed(lambda: cache.fetch(limit=200)), 2),
        "count_ms": round(timed(lambda: cache.count()), 2),
        "search_email_ms": round(timed(lambda: cache.fetch(Query(search=sample.email), limit=200)), 2),
        "search_short_ms": round(timed(lambda: cache.fetch(Query(search="an"), limit=200)), 2),
        "search_and_count_ms": round(timed(lambda: cache.count(Query(search="smith"))), 2),
        "sort_customer_ms": round(
            timed(lambda: cache.fetch(sort="customer", descending=False, limit=200)), 2
        ),
        "sort_total_ms": round(timed(lambda: cache.fetch(sort="total", limit=200)), 2),
        "needs_action_ms": round(timed(lambda: cache.fetch(Query(needs_action=True), limit=200)), 2),
        # A first page sorted by each column, the slower direction (each reads its own index).
        "sort_page_ms_by_column": {
            sort: round(
                max(
                    timed(lambda s=sort, d=d: cache.fetch(sort=s, descending=d, limit=200), 3)
                    for d in (False, True)
                ),
                2,
            )
            for sort in SORT_COLUMNS
        },
        "sorts_without_an_index": [
            sort
            for sort in SORT_COLUMNS
            for d in (False, True)
            if "TEMP B-TREE" in cache.page_plan(sort=sort, descending=d)
        ],
        # A first page of a search, for terms from everywhere to nowhere.
        "search_page_ms_by_term": {
            term: round(timed(lambda t=term: cache.fetch(Query(search=t), limit=200), 3), 2)
            for term in ("a", "an", "son", "smith", "gmail", "@example.com", "1001", "zzzz")
        },
        "deep_page_ms": round(timed(lambda: cache.fetch(offset=max(0, size - 400), limit=200), 3), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "fill_s_incl_generation": fill_s,
        "file_mb": round(sum(p.stat().st_size for p in folder.iterdir()) / 1e6, 1),
    }
    cache.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 100000])
    parser.add_argument("--fill", nargs=2, metavar=("SIZE", "DIR"))
    parser.add_argument("--measure", nargs=3, metavar=("SIZE", "DIR", "FILL_S"))
    args = parser.parse_args()
    if args.fill:
        fill(Path(args.fill[1]), int(args.fill[0]))
        return
    if args.measure:
        print(json.dumps(child(Path(args.measure[1]), int(args.measure[0]), float(args.measure[2]))))
        return
    print("Cache benchmark (median of 7). Filling and measuring run in separate fresh processes,")
    print("so peak RSS is what opening and browsing the cache costs.")
    for size in args.sizes:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-cache-{size}-"))
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--fill", str(size), str(folder)], check=True)
        fill_s = time.perf_counter() - t
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(size), str(folder), f"{fill_s:.1f}"],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\n{size:,} records")
        for key, value in figures.items():
            print(f"  {key:<26} {value}")


if __name__ == "__main__":
    main()
