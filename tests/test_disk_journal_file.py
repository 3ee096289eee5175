"""The journal file is shared by every InvoiceDesk process on a data folder.

Appends and compactions from several real processes interleave under the file's lock: whatever
they did, every unfinished entry of the journal table is also in the file, in its latest state.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from invoicedesk.cache import Cache

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from invoicedesk.cache import Cache

    cache = Cache.open(Path(sys.argv[1]))
    for i in range(40):
        entry = cache.journal_begin("jumpseller", "shop", f"{os.getpid()}-{i}", "invoice", {})
        cache.journal_update(entry, state="invoiced", result={"public_id": f"P{i}"})
        if i % 2:
            cache.journal_update(entry, state="done")
        if i % 10 == 9:
            cache._compact_journal_file()  # as a close or a large file would, mid-way
    cache.close()
    """
)


def test_appends_and_compactions_from_three_processes_keep_every_unfinished_entry(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Cache.open(data).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(data)], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err

    cache = Cache.open(data)
    try:
        in_table = {e.id: e.state for e in cache.journal(open_only=True)}
        in_file = {i: e["state"] for i, e in cache.journal_file.read().items() if e["state"] != "done"}
        assert len(in_table) == 60
        assert in_file == in_table
        assert len(cache.journal()) == 120
    finally:
        cache.close()
