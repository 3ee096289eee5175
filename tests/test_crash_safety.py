"""Killed at any moment, InvoiceDesk loses nothing and never invoices an order twice.

Real processes, real SIGKILLs: the command line is started against the sandbox and killed at
random moments of sync and of invoice creation. After every kill the cache must pass SQLite's
integrity check; at the end one more run must converge, and the invoicing service must never
have made two invoices for one order.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from invoicedesk.sandbox import Sandbox
from tests.cli_helpers import cli_env, invoicedesk_cmd, run_cli, write_config

KILLS = 24


def integrity(data_dir: Path) -> str:
    path = data_dir / "cache.sqlite3"
    if not path.exists():
        return "ok"
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def run_and_kill(env: dict[str, str], args: list[str], after: float) -> int | None:
    proc = subprocess.Popen(invoicedesk_cmd(*args), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=after)
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return None


@pytest.mark.slow
def test_sigkill_during_sync_and_invoicing_never_corrupts_or_double_invoices(tmp_path: Path) -> None:
    sb = Sandbox(seed=53, orders=90, invoices=60, rate_limits=False)
    sb.start()
    try:
        # Latency makes each run long enough to be caught in the middle of something.
        sb.inject("jumpseller", "latency", delay=0.02)
        sb.inject("invoicing", "latency", delay=0.3)
        config, secrets = write_config(sb, tmp_path)
        data = tmp_path / "data"
        env = cli_env(data, secrets, config)
        rng = random.Random(53)
        killed = 0
        for i in range(KILLS):
            args = ["sync"] if i % 2 == 0 else ["invoice", "--all-pending"]
            if rng.random() < 0.3:
                sb.advance(hours=12)
            code = run_and_kill(env, args, after=rng.uniform(0.4, 2.5))
            killed += code is None
            assert integrity(data) == "ok", f"run {i} ({args[0]}) left a damaged cache"
        assert killed >= KILLS // 2, "most runs should have been killed mid-way"

        sb.clear_faults()
        final_sync = run_cli(env, "sync", "--deep")
        assert final_sync.returncode == 0, final_sync.stderr
        run_cli(env, "invoice", "--all-pending")
        assert integrity(data) == "ok"

        made = Counter((d["store"], str(d["order_id"]), d["kind"]) for d in sb.invoices_created())
        assert made, "some invoices were made"
        assert max(made.values()) == 1, [k for k, n in made.items() if n > 1]

        # Converged: every invoice the service made is attached to its order and in the cache,
        # except where staff must look first (an outcome the killed process never learned).
        import json

        rows = json.loads(run_cli(env, "list", "--json", "--source", "jumpseller").stdout)
        by_id = {(r["account"], r["id"]): r for r in rows}
        for (store, order_id, kind), _n in made.items():
            row = by_id[(store, order_id)]
            if row["needs_action"] == "outcome_unknown":
                continue
            docs = {d["public_id"] for d in sb.truth_documents(store).get(int(order_id), [])}
            public = next(d["public_id"] for d in sb.invoices_created(store)
                          if str(d["order_id"]) == order_id and d["kind"] == kind)
            assert public in docs, f"{store} {order_id}: {public} made but not attached"
            if kind == "invoice":
                assert row["invoice_public_id"] == public
        ids = [(r["account"], r["id"]) for r in rows]
        assert len(ids) == len(set(ids))
    finally:
        sb.stop()
