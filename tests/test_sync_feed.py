"""The window's sync as a child process: ``invoicedesk sync --feed`` over real HTTP."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from invoicedesk.cache import Cache
from invoicedesk.demo import demo_config
from invoicedesk.errors import ConfigError
from invoicedesk.sync import SyncProgress, SyncResult
from invoicedesk.sync_feed import feed, parse_line, progress_line, read_feed, results_line
from tests.cli_helpers import invoicedesk_cmd


def test_the_feed_carries_accounts_and_secrets_exactly(sandbox) -> None:
    config, secrets = demo_config(sandbox)
    again, got = read_feed(io.BytesIO(feed(config, secrets)))
    assert again.jumpseller == config.jumpseller and again.marketplacer == config.marketplacer
    store = sandbox.stores[0]
    assert got.get(config.jumpseller[0].token_key) == store.token


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"config": 5}', b'{"config": "[[x"}', b"x" * (2 << 20)])
def test_a_bad_feed_is_one_config_error(raw: bytes) -> None:
    with pytest.raises(ConfigError):
        read_feed(io.BytesIO(raw))


def test_lines_round_trip_and_foreign_lines_are_ignored() -> None:
    p = SyncProgress("shop", "orders", 3, 10)
    r = [SyncResult("shop", "jumpseller", fetched=3, requests=4, changed_ids=["1"])]
    assert parse_line(progress_line(p)) == p
    assert parse_line(results_line(r)) == r
    for junk in ("", "hello", "[1]", '{"progress": {"nope": 1}}', '{"other": 1}'):
        assert parse_line(junk) is None


def test_sync_feed_streams_progress_and_results_and_fills_the_cache(sandbox, tmp_path: Path) -> None:
    config, secrets = demo_config(sandbox)
    env = {k: v for k, v in __import__("os").environ.items()}
    env["INVOICEDESK_DATA_DIR"] = str(tmp_path / "data")
    env.pop("INVOICEDESK_CONFIG", None)
    done = subprocess.run(
        invoicedesk_cmd("sync", "--feed"), input=feed(config, secrets), env=env,
        capture_output=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    items = [parse_line(line) for line in done.stdout.splitlines()]
    assert all(item is not None for item in items), done.stdout[:500]
    progress = [i for i in items if isinstance(i, SyncProgress)]
    results = items[-1]
    assert progress and isinstance(results, list)
    assert {r.account for r in results} == {a.name for a in config.accounts}
    assert all(r.ok for r in results)
    cache = Cache.open(tmp_path / "data")
    try:
        assert cache.count() == sum(r.fetched for r in results) > 0
    finally:
        cache.close()
    for value in (s.token for s in sandbox.stores):
        assert value.encode() not in done.stdout and value.encode() not in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["results"]
