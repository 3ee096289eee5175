"""Two InvoiceDesk processes on one data folder share each store's rate budget.

Each process alone keeps to 20 requests/s; two of them used to send 40 together and get the
store banned. Real processes (not threads), the real sandbox with its rate limits on: the sandbox
must refuse nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicedesk.sandbox import Sandbox
from tests.cli_helpers import cli_env, invoicedesk_cmd, write_config


@pytest.fixture
def limited() -> Iterator[tuple[Sandbox, list[str]]]:
    """A sandbox with rate limits on, and the list of requests it refused (429 or ban)."""
    # The store refuses the document listing, so a sync reads documents order by order: many
    # requests, as from an older plan.
    sb = Sandbox(seed=71, orders=220, invoices=10, stores=1, rate_limits=True,
                 shapes={"documents_listing_refused"})
    refused: list[str] = []
    # The sandbox counts requests but not refusals: listen at its limiter (test-only).
    limiter = sb._state.jumpseller_limits
    check = limiter.check
    lock = threading.Lock()

    def counting(key: str):  # type: ignore[no-untyped-def]
        verdict = check(key)
        if not verdict.allowed:
            with lock:
                refused.append(key)
        return verdict

    limiter.check = counting  # type: ignore[method-assign]
    sb.start()
    yield sb, refused
    sb.stop()


@pytest.mark.slow
def test_two_processes_syncing_one_store_together_get_no_429(
    tmp_path: Path, limited: tuple[Sandbox, list[str]]
) -> None:
    sb, refused = limited
    config, secrets = write_config(sb, tmp_path)
    env = cli_env(tmp_path / "data", secrets, config)
    procs = [
        subprocess.Popen(invoicedesk_cmd("sync", "--full"), env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    # Both really hammered the store: each fetched every order's documents.
    assert sb.requests("jumpseller") > 2 * 150
    assert refused == [], f"the sandbox refused {len(refused)} requests"


CHILD = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    from invoicedesk.transport import RatePacer, RateWindow, SharedBudget

    async def main() -> None:
        folder, count = Path(sys.argv[1]), int(sys.argv[2])
        pacer = RatePacer([RateWindow(6, 0.5), RateWindow(15, 3.0)], burst=2,
                          shared=SharedBudget.for_account(folder, "jumpseller", "shop"))
        stamps = []

        async def one() -> None:
            sent = await pacer.acquire()
            stamps.append(time.monotonic())   # the service counts it on arrival
            await asyncio.sleep(0.01)
            pacer.release(sent)

        await asyncio.gather(*(one() for _ in range(count)))
        print(json.dumps(stamps))

    asyncio.run(main())
    """
)


def test_shared_budget_holds_every_window_across_processes(tmp_path: Path) -> None:
    """Small windows stand in for 20/s and 800/min: three processes, one budget, no window over."""
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), "12"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    stamps: list[float] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        stamps += json.loads(out)
    stamps.sort()
    assert len(stamps) == 36
    for limit, period in ((6, 0.5), (15, 3.0)):
        for i, start in enumerate(stamps):
            inside = [t for t in stamps[i:] if t < start + period]
            assert len(inside) <= limit, f"{len(inside)} requests within {period} s (limit {limit})"
