"""Sync benchmark: first and incremental sync of 10,000 orders + 10,000 invoices, real rate limits.

Prints time, requests made, and the ratio to the lower bound the services' rate limits allow for
those requests (Jumpseller 20/s and 800/min per store; Marketplacer 50/s). The sandbox runs in
its own process.

    .venv/bin/python benchmarks/sync.py [--orders 10000] [--invoices 10000] [--first-only] [--json]

The store's first sync runs twice: alone (each in a fresh data folder), and beside the
seller's, a process per service, as staff's Sync button runs them. Here the sandbox answers on the
same two cores, so beside the seller the client runs short of CPU, which a shop's
machine talking to the real services does not.

``--first-only`` stops after those first syncs; ``--json`` ends with one line of JSON: every
run's accounts (seconds, requests, bound, ratio), ``store_alone_*`` for the store alone and
``first_sync_*`` for the store beside the seller (the figures benchmarks/run_all.py shows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox_process import SandboxProcess

from invoicedesk.cache import Cache, Query
from invoicedesk.demo import demo_config
from invoicedesk.services import Services
from invoicedesk.sync import Syncer
from invoicedesk.sync_fanout import sync_in_processes, wanted


def jumpseller_bound(n: int) -> float:
    """Least time for n requests under 20/s and 800 per minute (fixed windows)."""
    per_second = n / 20
    per_minute = math.floor(max(n - 1, 0) / 800) * 60
    return max(per_second, per_minute)


def marketplacer_bound(n: int) -> float:
    return n / 50


FIGURES: dict[str, list[dict[str, object]]] = {}


async def run(sb: SandboxProcess, folder: Path, label: str, only: str = "", **kw: bool) -> None:
    config, secrets = demo_config(sb)
    services = Services(config, secrets, folder)
    cache = Cache.open(folder)
    accounts = [a for a in config.accounts if not only or a.source == only]
    t = time.perf_counter()
    if wanted(accounts):  # as the window and `invoicedesk sync` do: a process per service
        results = await sync_in_processes(config, secrets, folder, accounts, **kw)
    else:
        results = await Syncer(services, cache).sync_all(accounts, **kw)
    total = time.perf_counter() - t
    print(f"\n{label}: {total:.1f} s in all, {cache.count(Query()):,} records cached")
    for r in results:
        bound = jumpseller_bound(r.requests) if r.source == "jumpseller" else marketplacer_bound(r.requests)
        ratio = r.seconds / bound if bound else float("nan")
        print(
            f"  {r.account:<12} {r.source:<12} {r.seconds:7.1f} s  {r.requests:6d} requests  "
            f"{r.fetched:6d} records  {r.documents_checked:6d} document checks  "
            f"bound {bound:6.1f} s  ratio {ratio:4.2f}{'  ERROR ' + r.error if r.error else ''}"
        )
        FIGURES.setdefault(label, []).append(dict(
            account=r.account, source=r.source, seconds=r.seconds, requests=r.requests, fetched=r.fetched,
            bound=bound, ratio=ratio, error=r.error or None,
        ))
    await services.aclose()
    cache.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--first-only", action="store_true", help="only the first sync of both accounts")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON with the figures")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    print(f"Sync benchmark: {args.orders:,} orders (1 store) + {args.invoices:,} invoices, rate limits on")
    with SandboxProcess(seed=3, orders=args.orders, invoices=args.invoices, stores=1) as sb:
        alone = Path(tempfile.mkdtemp(prefix="bench-sync-mp-"))
        if not args.first_only:
            asyncio.run(run(sb, alone, "first sync, Marketplacer alone", only="marketplacer"))
        store_alone = Path(tempfile.mkdtemp(prefix="bench-sync-js-"))
        asyncio.run(run(sb, store_alone, STORE_ALONE, only="jumpseller"))
        asyncio.run(run(sb, folder, FIRST))
        if args.first_only:
            finish(args.json)
            return
        asyncio.run(run(sb, folder, "incremental sync, nothing changed"))
        asyncio.run(run(sb, folder, "incremental sync with the deep check", deep=True))
        import httpx

        httpx.post(f"{sb.control_url}/advance", json={"hours": 24}, timeout=60).raise_for_status()
        asyncio.run(run(sb, folder, "incremental sync after a day of changes"))
    finish(args.json)


FIRST = "first sync, both accounts at once"
STORE_ALONE = "first sync, the store alone"


def finish(as_json: bool) -> None:
    if not as_json:
        return
    store = next((r for r in FIGURES.get(FIRST, []) if r["source"] == "jumpseller"), None)
    out: dict[str, object] = {"runs": FIGURES}
    if store is not None:
        out.update(first_sync_s=store["seconds"], first_sync_bound_s=store["bound"],
                   first_sync_ratio=store["ratio"], first_sync_error=store["error"])
    alone = next(iter(FIGURES.get(STORE_ALONE, [])), None)
    if alone is not None:
        out.update(store_alone_s=alone["seconds"], store_alone_bound_s=alone["bound"],
                   store_alone_ratio=alone["ratio"], store_alone_error=alone["error"])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
