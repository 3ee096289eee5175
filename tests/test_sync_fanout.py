"""A sync of both services runs a process per service (real processes, real HTTP, one cache file)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from invoicedesk.sandbox import Sandbox
from tests.cli_helpers import cli_env, invoicedesk_cmd, run_cli, sync_children, write_config
from tests.core_helpers import wait_until


@pytest.fixture
def shop(tmp_path: Path):
    sb = Sandbox(seed=41, orders=120, invoices=90, stores=1, sellers=1, rate_limits=False)
    sb.start()
    config, secrets = write_config(sb, tmp_path)
    yield sb, cli_env(tmp_path / "data", secrets, config)
    sb.stop()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _listed(env: dict[str, str]) -> dict[str, int]:
    rows = json.loads(run_cli(env, "list", "--json").stdout)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    return counts


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_each_service_syncs_in_its_own_process_and_a_killed_sync_leaves_none_running(shop) -> None:
    sb, env = shop
    for service in ("jumpseller", "marketplacer"):
        # Every answer comes 8 s late: the children wait on the network, printing nothing,
        # so only the parent's death (not a broken pipe at the next line) can end them.
        sb.inject(service, "slow", delay=8.0)
    proc = subprocess.Popen(invoicedesk_cmd("sync"), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: len(sync_children(proc.pid)) == 2, timeout=60), "a process per service"
        children = sync_children(proc.pid)
        # Both children's first requests are out: they now wait on the network.
        assert wait_until(lambda: sb.requests("jumpseller") and sb.requests("marketplacer"), timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert wait_until(lambda: not any(_alive(c) for c in children), timeout=4), (
            "the children end with their parent, well before the 8 s answers")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    sb.clear_faults()
    done = run_cli(env, "sync")
    assert done.returncode == 0, done.stderr
    store, seller = sb.stores[0].login, sb.sellers[0].name
    assert _listed(env) == {"jumpseller": len(sb.truth_orders(store)),
                            "marketplacer": len(sb.truth_invoices(seller))}
    lines = [line for line in done.stderr.splitlines() if " records, " in line]
    assert sorted(line.split(":")[0] for line in lines) == sorted([store, seller])


def test_a_service_that_fails_is_named_and_the_other_is_synced(shop) -> None:
    sb, env = shop
    sb.inject("marketplacer", "500", rate=1.0)
    done = run_cli(env, "sync")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("invoicedesk: ")]
    assert len(errors) == 1 and errors[0].startswith(f"invoicedesk: {sb.sellers[0].name}: "), done.stderr
    assert "Traceback" not in done.stderr
    assert _listed(env) == {"jumpseller": len(sb.truth_orders(sb.stores[0].login))}


def test_one_process_when_asked(shop, tmp_path: Path) -> None:
    """INVOICEDESK_SYNC_PROCESSES=0 keeps every account in one process, with the same result."""
    sb, env = shop
    env = {**env, "INVOICEDESK_SYNC_PROCESSES": "0"}
    sb.inject("jumpseller", "slow", count=1, delay=3.0)  # the sync is under way for a while
    proc = subprocess.Popen(invoicedesk_cmd("sync"), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    # Both services are being read: a child per service would exist by now.
    assert wait_until(lambda: sb.requests("jumpseller") and sb.requests("marketplacer"), timeout=60)
    assert sync_children(proc.pid) == []
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    store, seller = sb.stores[0].login, sb.sellers[0].name
    assert _listed(env) == {"jumpseller": len(sb.truth_orders(store)),
                            "marketplacer": len(sb.truth_invoices(seller))}
