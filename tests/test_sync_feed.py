"""The window's sync as a child process: ``invoicedesk sync --feed`` over real HTTP."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from invoicedesk.cache import Cache
from invoicedesk.config import KEYRING_SERVICE, KeyringSecrets
from invoicedesk.demo import demo_config
from invoicedesk.errors import ConfigError
from invoicedesk.sync import SyncProgress, SyncResult
from invoicedesk.sync_feed import feed, parse_line, progress_line, read_feed, results_line
from tests.cli_helpers import invoicedesk_cmd
from tests.core_helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_the_feed_carries_accounts_and_secrets_exactly(sandbox) -> None:
    config, secrets = demo_config(sandbox)
    again, got = read_feed(io.BytesIO(feed(config, secrets)))
    assert again.jumpseller == config.jumpseller and again.marketplacer == config.marketplacer
    store = sandbox.stores[0]
    assert got.get(config.jumpseller[0].token_key) == store.token


def test_a_keyring_feed_carries_no_secret_and_the_window_never_loads_the_keyring() -> None:
    """The window's secrets in the system keyring: the child reads them itself. Run in a fresh
    interpreter, so that no other test has loaded the keyring library already."""
    script = (
        "import sys\n"
        "from invoicedesk.config import Config, JumpsellerAccount, KeyringSecrets\n"
        "from invoicedesk.sync_feed import feed\n"
        "acc = JumpsellerAccount(name='shop', login='shop', api_url='https://api.jumpseller.com/v1')\n"
        "sys.stdout.buffer.write(feed(Config(jumpseller=(acc,)), KeyringSecrets()))\n"
        "assert 'keyring' not in sys.modules, 'the window loaded the keyring'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["keyring"] is True and data["secrets"] == {}
    config, secrets = read_feed(io.BytesIO(done.stdout))
    assert isinstance(secrets, KeyringSecrets) and config.jumpseller[0].name == "shop"


def _keyring_env(tmp_path: Path, values: dict[str, str]) -> dict[str, str]:
    ring = tmp_path / "keyring.json"
    ring.write_text(json.dumps({f"{KEYRING_SERVICE}/{k}": v for k, v in values.items()}), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        INVOICEDESK_DATA_DIR=str(tmp_path / "data"),
        INVOICEDESK_TEST_KEYRING=str(ring),
        PYTHON_KEYRING_BACKEND="tests.file_keyring.FileKeyring",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    env.pop("INVOICEDESK_CONFIG", None)
    return env


def test_the_child_reads_the_keyring_itself_and_syncs(sandbox, tmp_path: Path) -> None:
    config, demo_secrets = demo_config(sandbox)
    store = config.jumpseller[0]
    config = replace(config, jumpseller=(store,), marketplacer=())
    env = _keyring_env(tmp_path, {store.token_key: demo_secrets.get(store.token_key) or ""})
    done = subprocess.run(
        invoicedesk_cmd("sync", "--feed"), input=feed(config, KeyringSecrets()), env=env,
        capture_output=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = parse_line(done.stdout.splitlines()[-1])
    assert isinstance(results, list) and [r.account for r in results] == [store.name]
    assert results[0].ok and results[0].fetched > 0, results


def test_a_token_missing_from_the_keyring_is_one_clear_line(sandbox, tmp_path: Path) -> None:
    config, _secrets = demo_config(sandbox)
    store = config.jumpseller[0]
    config = replace(config, jumpseller=(store,), marketplacer=())
    done = subprocess.run(
        invoicedesk_cmd("sync", "--feed"), input=feed(config, KeyringSecrets()),
        env=_keyring_env(tmp_path, {}), capture_output=True, timeout=300,
    )
    results = parse_line(done.stdout.splitlines()[-1]) if done.stdout else None
    words = " ".join(r.error or "" for r in results) if isinstance(results, list) else done.stderr.decode()
    assert f"No API token for account '{store.name}'" in words, (done.stdout, done.stderr)


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


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_the_sync_child_runs_below_the_window_priority(tmp_path: Path) -> None:
    """The child lowers its own priority before it reads its feed: on two cores, parsing and
    storing a big first sync must leave the window a core whenever it has something to paint."""

    from invoicedesk.sync_feed import BACKGROUND_NICE

    env = dict(os.environ, INVOICEDESK_DATA_DIR=str(tmp_path / "data"))
    env.pop("INVOICEDESK_CONFIG", None)
    child = subprocess.Popen(
        invoicedesk_cmd("sync", "--feed"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env,
    )
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        wanted = min(mine + BACKGROUND_NICE, 19)
        seen = [mine]

        def lowered() -> bool:
            seen[0] = os.getpriority(os.PRIO_PROCESS, child.pid)
            return seen[0] == wanted or child.poll() is not None

        wait_until(lowered, timeout=60)
        assert seen[0] == wanted, f"the sync child runs at nice {seen[0]}, the window at {mine}"
    finally:
        _out, err = child.communicate(b"", timeout=60)
    assert child.returncode != 0 and b"Traceback" not in err  # an empty feed is one clear error
