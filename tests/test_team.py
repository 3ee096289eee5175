"""Team mode against a real PostgreSQL: several desktops (separate data folders, separate
processes), one team database, one sandbox. Invoices are counted at the sandbox."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from invoicedesk.config import parse_config
from invoicedesk.errors import ConfigError
from invoicedesk.sandbox import Sandbox
from tests.cli_helpers import cli_env, invoicedesk_cmd, run_cli, sync_children, write_config
from tests.core_helpers import wait_until
from tests.pg_helpers import PASSWORD, PostgresServer, server_bin
from tests.store_helpers import issued, paid_orders

BIN = server_bin()
needs_postgres = pytest.mark.skipif(
    BIN is None, reason="PostgreSQL's server binaries (Debian package 'postgresql') are not installed"
)


# ----------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://desk:secret@db.shop.lan/invoicedesk?sslmode=require", "must not hold the password"),
        ("postgresql://desk@db.shop.lan/invoicedesk", "TLS"),
        ("postgresql://desk@db.shop.lan/invoicedesk?sslmode=prefer", "TLS"),
        ("mysql://desk@db.shop.lan/invoicedesk", "postgresql://"),
        ("postgresql://desk@db.shop.lan", "postgresql://"),
        ("postgresql://desk@[zz/x", "not a valid URL"),
    ],
)
def test_team_urls_that_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config({"team": {"database_url": url}})


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://desk@db.shop.lan:5432/invoicedesk?sslmode=require",
        "postgresql://desk@db.shop.lan/invoicedesk?sslmode=verify-full",
        "postgresql://desk@127.0.0.1:5432/invoicedesk",
        "postgresql://desk@localhost/invoicedesk",
    ],
)
def test_team_urls_that_are_accepted(url: str) -> None:
    cfg = parse_config({"team": {"database_url": url, "password_env": "SHOP_DB_PW"}})
    assert cfg.team is not None and cfg.team.password_env == "SHOP_DB_PW"
    assert "desk@" not in cfg.team.where and cfg.team.where.startswith(("db.shop.lan", "127.0.0.1", "localhost"))


def test_no_team_table_means_single_desk() -> None:
    assert parse_config({}).team is None


# ----------------------------------------------------------------------------- the server


@pytest.fixture(scope="module")
def pg():
    if BIN is None:
        pytest.skip("PostgreSQL's server binaries (Debian package 'postgresql') are not installed")
    server = PostgresServer(BIN).start()
    yield server
    server.close()


class Team:
    """One sandbox, one team database, and as many desktops as a test asks for."""

    def __init__(self, pg: PostgresServer, sb: Sandbox, root: Path) -> None:
        self.pg, self.sb, self.root = pg, sb, root
        self.config, self.secrets = write_config(sb, root)
        text = self.config.read_text()
        self.config.write_text(
            f'[team]\ndatabase_url = "{pg.url}"\npassword_env = "TEAM_DB_PASSWORD"\n\n{text}'
        )

    def desk(self, name: str) -> dict[str, str]:
        env = cli_env(self.root / name, self.secrets, self.config)
        env["TEAM_DB_PASSWORD"] = PASSWORD
        return env

    @property
    def login(self) -> str:
        return str(self.sb.stores[0].login)


@pytest.fixture
def team(pg: PostgresServer, tmp_path: Path):
    pg.reset()
    sb = Sandbox(seed=41, orders=80, invoices=20, stores=1, sellers=1, rate_limits=False)
    sb.start()
    yield Team(pg, sb, tmp_path)
    sb.stop()


@needs_postgres
def test_desktops_racing_invoice_every_order_exactly_once(team: Team) -> None:
    """Four desktops (four data folders, four processes) at once: two run --all-pending, two
    invoice single orders; then one more pass. No order has two invoices."""
    desks = [team.desk(f"desk{i}") for i in range(4)]
    for env in desks:
        assert run_cli(env, "sync").returncode == 0
    todo = paid_orders(team.sb, team.login)
    assert len(todo) >= 8
    team.sb.inject("jumpseller", "latency", rate=1.0, delay=0.02)
    procs = [
        subprocess.Popen(invoicedesk_cmd("invoice", "--all-pending"), env=desks[0], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True),
        subprocess.Popen(invoicedesk_cmd("invoice", "--all-pending"), env=desks[1], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True),
    ]
    for i, order in enumerate(todo[:6]):
        procs.append(subprocess.Popen(invoicedesk_cmd("invoice", str(order)), env=desks[2 + i % 2],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    errors = "".join(p.communicate(timeout=300)[1] for p in procs)
    team.sb.clear_faults()
    assert "Traceback" not in errors
    run_cli(desks[3], "invoice", "--all-pending")
    counts = issued(team.sb, team.login)
    assert max(counts.values()) == 1, {o: n for o, n in counts.items() if n > 1}
    assert set(counts) == set(todo)


@needs_postgres
def test_a_desk_killed_mid_invoice_is_finished_by_another(team: Team) -> None:
    """Desk A is killed after the invoicing service made the invoice, before attaching it.
    Desk B attaches that invoice and never makes a second one."""
    a, b = team.desk("a"), team.desk("b")
    assert run_cli(a, "sync").returncode == 0
    order = paid_orders(team.sb, team.login)[0]
    team.sb.inject("jumpseller", "latency", rate=1.0, delay=1.5)  # A's attach takes its time
    proc = subprocess.Popen(invoicedesk_cmd("invoice", str(order)), env=a, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_until(
            lambda: team.pg.sql("SELECT state FROM journal", db="invoicedesk") == [("invoiced",)], timeout=60
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    team.sb.clear_faults()
    assert not team.sb.truth_documents(team.login).get(order)
    result = run_cli(b, "sync")
    assert result.returncode == 0, result.stderr
    docs = team.sb.truth_documents(team.login)[order]
    assert [d["public_id"] for d in docs] == [team.sb.invoices_created(team.login)[0]["public_id"]]
    assert issued(team.sb, team.login)[order] == 1


@needs_postgres
def test_team_database_down_refuses_actions_and_review_still_works(team: Team) -> None:
    desk = team.desk("d")
    assert run_cli(desk, "sync").returncode == 0
    order = paid_orders(team.sb, team.login)[0]
    team.pg.stop()
    try:
        result = run_cli(desk, "invoice", str(order))
        assert result.returncode != 0
        assert "team database" in result.stderr and "cannot be reached" in result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
        assert issued(team.sb, team.login)[order] == 0
        listed = run_cli(desk, "list", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout)
    finally:
        team.pg.restart()
    again = run_cli(desk, "invoice", str(order))
    assert again.returncode == 0, again.stderr
    assert issued(team.sb, team.login)[order] == 1


@needs_postgres
def test_two_desks_syncing_one_store_spend_one_sync(team: Team) -> None:
    """Both desks sync at once: one holds the account's lease, the other skips it and gets
    the records through the team database."""
    a, b = team.desk("a"), team.desk("b")
    alone = team.desk("alone")
    before = team.sb.requests("jumpseller")
    assert run_cli(alone, "sync").returncode == 0
    one_sync = team.sb.requests("jumpseller") - before
    team.pg.reset()
    team.sb.inject("jumpseller", "latency", rate=1.0, delay=0.01)
    before = team.sb.requests("jumpseller")
    procs = [subprocess.Popen(invoicedesk_cmd("sync"), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for env in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    team.sb.clear_faults()
    both = team.sb.requests("jumpseller") - before
    assert all(p.returncode == 0 for p in procs), outs
    assert any("being synced by" in err for _out, err in outs)
    assert both <= one_sync * 1.2 + 5, (both, one_sync)
    # The desk that skipped sees every record all the same.
    count = {name: len(json.loads(run_cli(env, "list", "--json").stdout)) for name, env in (("a", a), ("b", b))}
    assert count["a"] == count["b"] > 0


@needs_postgres
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_a_team_desk_syncs_each_service_in_its_own_process_and_shares_both(team: Team) -> None:
    """In team mode too, a store and a seller sync in a process each: this desk holds both
    leases while its children sync, then pushes what they stored. A desk that never synced
    lists every record of both services, from the team database; no lease is left held."""
    a, b = team.desk("a"), team.desk("b")
    for service in ("jumpseller", "marketplacer"):
        team.sb.inject(service, "latency", rate=1.0, delay=0.3)  # the children live a while
    proc = subprocess.Popen(invoicedesk_cmd("sync"), env=a, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: len(sync_children(proc.pid)) == 2, timeout=60), "a process per service"
        _out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    team.sb.clear_faults()
    assert proc.returncode == 0, err
    assert "being synced by" not in err
    synced = json.loads(run_cli(a, "list", "--json").stdout)
    by_source = {s: sum(1 for r in synced if r["source"] == s) for s in ("jumpseller", "marketplacer")}
    assert by_source["jumpseller"] > 0 and by_source["marketplacer"] > 0, by_source
    shared = json.loads(run_cli(b, "list", "--json").stdout)  # b pulls before it lists
    assert sorted((r["source"], r["account"], r["id"]) for r in shared) == sorted(
        (r["source"], r["account"], r["id"]) for r in synced
    )
    status = run_cli(b, "team", "status")
    assert status.returncode == 0, status.stderr
    assert "none: no desk is syncing right now" in status.stdout, status.stdout


@needs_postgres
def test_team_status_names_the_server_desks_and_leases(team: Team) -> None:
    desk = team.desk("s")
    assert run_cli(desk, "sync").returncode == 0
    status = run_cli(desk, "team", "status")
    assert status.returncode == 0, status.stderr
    assert f"127.0.0.1:{team.pg.port}/invoicedesk" in status.stdout
    assert "schema version: 1" in status.stdout
    assert "cli" in status.stdout and "sync leases:" in status.stdout
    assert PASSWORD not in status.stdout + status.stderr


@needs_postgres
def test_a_change_on_one_desk_shows_in_another_desks_window(team: Team, qtbot, qrun) -> None:
    """Desk A (the command line) invoices an order; desk B's open window shows the invoice
    within a few seconds, without a sync of its own, and its Create Invoice turns off."""
    from invoicedesk.ui.records_model import Column
    from tests.ui_helpers import make_desk

    a = team.desk("a")
    assert run_cli(a, "sync").returncode == 0
    order = paid_orders(team.sb, team.login)[0]
    desk = make_desk(team.sb, team.root / "b", sync_on_start=False, team=(team.pg.url, PASSWORD))
    w = desk.window
    try:
        w.show()
        qrun(w.ready())
        key = ("jumpseller", team.login, str(order))
        qtbot.waitUntil(lambda: w.select_record(*key), timeout=10_000)  # pulled from the team
        assert w.create_invoice_action.isEnabled()
        assert run_cli(a, "invoice", str(order)).returncode == 0
        made = team.sb.invoices_created(team.login)[0]["public_id"]

        def shows_invoice() -> bool:
            row = w.model.row_of_key(key)
            return row is not None and w.model.index(row, Column.INVOICE).data() == made

        qtbot.waitUntil(shows_invoice, timeout=5_000)
        qtbot.waitUntil(lambda: not w.create_invoice_action.isEnabled(), timeout=5_000)
        assert issued(team.sb, team.login)[order] == 1
    finally:
        qrun(w.shutdown())
        qrun(desk.services.aclose())
        desk.cache.close()
        w.close()
        w.deleteLater()
