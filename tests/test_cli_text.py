"""Text from the services on a terminal: one record per line, no raw control characters.

Customer names come from other people's systems. A raw ESC can retitle the terminal or hide
what follows, a CR/LF split one record over two lines, a U+202E showed text reversed. The
table escapes them; ``--json`` stays exact (JSON escapes control characters itself).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
from pathlib import Path

import pytest

from invoicedesk.cache import Cache
from invoicedesk.cli import build_parser, output_file, record_id, table_line
from invoicedesk.domain import parse_order
from invoicedesk.textsafe import breakable, capped, human_size, one_line, terminal_safe
from invoicedesk.transport import service_messages
from tests.cli_helpers import cli_env, invoicedesk_cmd, run_cli
from tests.fixtures import FIXTURES

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # \t, \n checked apart

HOSTILE_NAMES = [
    "Ana\x1b]0;pwned\x07 Ruiz",  # retitles an xterm, then rings
    "Bob\r\nsource       fake-account        1  2020-01-01  Mallory",  # a forged second record
    "Nul\x00l Byte",
    "Del\x7f and C1\x9b31m",
    "\u202eevil.exe\u202c Tom",
    "Isolate \u2066x\u2069 Ann",
    "Tab\tbed",
]


# --------------------------------------------------------------------------- the table line


def _row(customer: str) -> dict[str, object]:
    return {
        "source": "jumpseller", "account": "demo-store", "id": "1026", "date": "2023-02-10T13:56:00+00:00",
        "customer": customer, "total": "369.2", "currency": "USD", "status": "paid", "needs_action": "invoice",
    }


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_is_one_line_with_no_raw_control_character(name: str) -> None:
    line = table_line(_row(name))
    assert line.endswith("\n") and line.count("\n") == 1 and "\r" not in line and "\t" not in line
    assert not RAW.search(line)


def test_escapes_are_visible_and_plain_names_unchanged() -> None:
    assert terminal_safe("Ana\x1b[31m") == "Ana\\x1b[31m"
    assert terminal_safe("a\r\nb\tc") == "a\\r\\nb\\tc"
    assert terminal_safe("\u202eabc") == "\\u202eabc"
    assert terminal_safe("José Ñúñez 李") == "José Ñúñez 李"
    assert "José Ñúñez" in table_line(_row("José Ñúñez"))


def test_text_helpers() -> None:
    assert capped("x" * 10_000_000) == "x" * 4000 + "… (10 MB)"
    assert capped("short") == "short"
    assert human_size(512) == "512 characters" and human_size(38_000) == "38 kB"
    assert human_size(1_500_000) == "1.5 MB"
    assert one_line("a\n\n b\x1b c", 500) == "a b c" and one_line("y" * 600, 10) == "y" * 9 + "…"
    assert breakable("short words stay") == "short words stay"
    assert breakable("x" * 150) == "\u200b".join(["x" * 30] * 5)


# --------------------------------------------------------------------------- argument types


@pytest.mark.parametrize("good", ["1", "1026", "007", "999999999999999999"])
def test_record_ids_that_are_accepted(good: str) -> None:
    assert record_id(good) == str(int(good))


@pytest.mark.parametrize("bad", ["abc", "1e3", "0", "-5", "+5", " 5", "5 ", "1.0", "١٢٣", "５", "", "9" * 19])
def test_record_ids_that_are_refused(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        record_id(bad)


def test_output_file_must_be_a_file_in_an_existing_folder(tmp_path: Path) -> None:
    assert output_file(str(tmp_path / "x.csv")) == tmp_path / "x.csv"
    for bad in (str(tmp_path), str(tmp_path / "missing" / "x.csv"), "", str(tmp_path / ("n" * 5000))):
        with pytest.raises(argparse.ArgumentTypeError):
            output_file(bad)


def test_a_bad_argument_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["invoice", "1e3"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("invoicedesk: ") and "'1e3'" in err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["list", "--source", "x\x1b[2J"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\\x1b[2J" in err


# --------------------------------------------------------------------------- service error bodies


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Cut off by a proxy: the whole messages are kept, the fragment never shown.
        (b'{"errors": [{"title": "Invalid", "detail": "Tax ID is required"}, {"title": "Inv',
         ["Invalid", "Tax ID is required"]),
        (b'{"errors": [{"title": "Validat', []),
        (b'{"message": "Customer tax', []),
        (b'[{"detail": "a\\nb"}, {"det', ["a b"]),
        (b'{"message": "line one\\nline two\\u001b[2J"}', ["line one line two [2J"]),
        (b"Conflict:\r\ndocument exists", ["Conflict: document exists"]),
        (b"[" * 100_000, []),
    ],
)
def test_error_bodies_become_short_clean_sentences(body: bytes, expected: list[str]) -> None:
    got = service_messages(body)
    assert got == expected
    for message in got:
        assert "{" not in message and not RAW.search(message) and len(message) <= 500


# --------------------------------------------------------------------------- the real command


def _order(order_id: int, name: str, status: str = "Paid") -> object:
    body = json.loads((FIXTURES / "jumpseller" / "order-1026-docs-example.json").read_text())
    odd = copy.deepcopy(body)
    odd["order"]["id"] = order_id
    odd["order"]["status"] = status
    odd["order"]["customer"]["fullname"] = name
    return parse_order(odd, account="old-shop")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A cache holding orders with hostile names, of an account no longer in the config."""
    folder = tmp_path_factory.mktemp("hostile")
    cache = Cache.open(folder / "data")
    cache.upsert([_order(2000 + i, name) for i, name in enumerate(HOSTILE_NAMES)])
    cache.close()
    config = folder / "config.toml"
    config.write_text('[[jumpseller]]\nname = "shop"\nlogin = "shop"\napi_url = "http://127.0.0.1:9/v1"\n')
    return cli_env(folder / "data", {}, config)


def test_list_prints_one_escaped_line_per_record(hostile: dict[str, str]) -> None:
    out = run_cli(hostile, "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(HOSTILE_NAMES)
    assert not RAW.search(out.stdout) and "\r" not in out.stdout and "\t" not in out.stdout
    assert all(line.startswith("jumpseller   old-shop") for line in lines[:-1])
    assert out.stderr == f"{len(HOSTILE_NAMES)} records\n"


def test_list_json_keeps_every_character(hostile: dict[str, str]) -> None:
    out = run_cli(hostile, "list", "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(r["customer"] for r in json.loads(out.stdout)) == sorted(HOSTILE_NAMES)
    assert not RAW.search(out.stdout)  # JSON escapes them itself


def test_all_pending_skips_an_account_no_longer_configured_with_one_line(hostile: dict[str, str]) -> None:
    out = run_cli(hostile, "invoice", "--all-pending")
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == [
        f"invoicedesk: skipping {len(HOSTILE_NAMES)} cached orders of 'old-shop': "
        "the account is no longer configured",
        "0 invoiced, 0 failed, 0 outcome unknown, 0 skipped (of 0 orders to invoice)",
    ]


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """``invoicedesk list | head -1`` ended in a BrokenPipeError traceback."""
    cache = Cache.open(tmp_path / "data")
    cache.upsert([_order(3000 + i, f"Customer {i}") for i in range(3000)])
    cache.close()
    config = tmp_path / "config.toml"
    config.write_text("")
    env = cli_env(tmp_path / "data", {}, config)
    proc = subprocess.Popen(invoicedesk_cmd("list"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("jumpseller")
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "Error" not in err, err


def test_a_legacy_code_page_never_ends_the_listing_and_data_stays_utf8(tmp_path: Path) -> None:
    """Redirected on Windows, stdout is cp1252: '李' ended list and export in UnicodeEncodeError."""
    name = "José Ñúñez 李"
    cache = Cache.open(tmp_path / "data")
    cache.upsert([_order(4000, name)])
    cache.close()
    config = tmp_path / "config.toml"
    config.write_text("")
    env = cli_env(tmp_path / "data", {}, config) | {"PYTHONIOENCODING": "cp1252"}

    def run(*argv: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(invoicedesk_cmd(*argv), env=env, capture_output=True, timeout=60)

    table = run("list")
    assert table.returncode == 0, table.stderr
    assert "José Ñúñez \\u674e".encode("cp1252") in table.stdout
    listed = run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout.decode("utf-8"))[0]["customer"] == name
    exported = run("export", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert name in exported.stdout.decode("utf-8")


def test_a_failed_sync_is_one_line_and_its_warning_goes_to_the_log_file(tmp_path: Path) -> None:
    """The sync's own warning used to reach stderr as a second, unprefixed line."""
    config = tmp_path / "config.toml"
    config.write_text('[[jumpseller]]\nname = "shop"\nlogin = "shop"\napi_url = "http://127.0.0.1:9/v1"\n'
                      'token_env = "NO_SUCH_TOKEN_VAR"\n')
    env = cli_env(tmp_path / "data", {}, config)
    env.pop("NO_SUCH_TOKEN_VAR", None)
    out = run_cli(env, "sync")
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        "invoicedesk: shop: No API token for account 'shop': set $NO_SUCH_TOKEN_VAR or store it "
        "with the Accounts dialog."
    ]
    logged = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "data" / "logs").glob("*.log"))
    assert "sync of shop failed" in logged
