"""Bad arguments and bad configuration files, run through the real command line.

The only acceptable outcomes: exit 0 with the right output, or a non-zero exit with ONE line
on stderr (prefixed ``invoicedesk:``) and no traceback. Each case names the exit status it
expects, so a refusal that turns into a silent success fails too. The cases run as real
subprocesses, four at a time (about 20 s on 2 cores); damaged caches are covered elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicedesk.cache import Cache
from invoicedesk.cli import build_parser
from invoicedesk.domain import parse_order
from tests.cli_helpers import cli_env, invoicedesk_cmd
from tests.fixtures import FIXTURES

# Nothing listens on port 9 (discard): a network command fails fast with "connection refused".
GOOD = """
[[jumpseller]]
name = "shop"
login = "shop"
api_url = "http://127.0.0.1:9/v1"
invoicing_url = "http://127.0.0.1:9/invoices"
token_env = "FUZZ_JS_TOKEN"

[[marketplacer]]
name = "mkt"
api_url = "http://127.0.0.1:9"
api_key_env = "FUZZ_MP_KEY"
"""
SECRETS = {"FUZZ_JS_TOKEN": "fuzz-token-1", "FUZZ_MP_KEY": "fuzz-key-2"}
JS = '[[jumpseller]]\nname = "a"\nlogin = "a"\n'
# One account: sync prints one line per account that failed.
ONE = GOOD.split("[[marketplacer]]")[0]

Check = Callable[[subprocess.CompletedProcess[str]], bool]


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    codes: frozenset[int]  # the exit statuses that are right for this case
    config: str | bytes | None = GOOD  # None: the --config path given in argv (if any) is used as is
    says: str = ""  # a fragment of the error line (or of stdout when the case succeeds)
    cached: bool = False  # a cache holding the reference order, else an empty one
    secrets: dict[str, str] = field(default_factory=lambda: dict(SECRETS))
    check: Check | None = None  # extra check of a successful run's output


def ok(*argv: str, says: str = "", cached: bool = False, check: Check | None = None) -> Case:
    name = " ".join(argv) + (" (a cached order)" if cached else "")
    return Case(name, argv, frozenset({0}), says=says, cached=cached, check=check)


def bad(name: str, *argv: str, codes: tuple[int, ...] = (2,), says: str = "",
        config: str | bytes | None = GOOD, secrets: dict[str, str] | None = None) -> Case:
    return Case(name, argv, frozenset(codes), config=config, says=says,
                secrets=dict(SECRETS) if secrets is None else secrets)


def _json_array_of(n: int) -> Check:
    return lambda out: len(json.loads(out.stdout)) == n


ARGUMENT_CASES = [
    bad("invoice abc", "invoice", "abc", says="'abc' is not an order or invoice number"),
    bad("invoice 1e3", "invoice", "1e3", says="'1e3'"),
    bad("invoice 0", "invoice", "0", says="1 or more"),
    bad("invoice -5", "invoice", "-5"),
    bad("invoice 20 digits", "invoice", "9" * 20),
    bad("invoice 5000 digits", "invoice", "9" * 5000),
    bad("invoice arabic digits", "invoice", "١٢٣"),
    bad("invoice fullwidth digit", "invoice", "５"),
    bad("invoice two ids", "invoice", "5", "6"),
    bad("invoice nothing", "invoice", says="give an ORDER_ID or --all-pending"),
    bad("invoice id and all", "invoice", "5", "--all-pending", says="not both"),
    bad("credit-note abc", "credit-note", "abc", says="'abc'"),
    bad("credit-note nothing", "credit-note"),
    bad("mark sent abc", "mark", "sent", "abc", "--tracking", "T1", "--carrier", "AusPost"),
    bad("mark sent no tracking", "mark", "sent", "5", "--carrier", "AusPost", says="--tracking"),
    bad("mark sent empty tracking", "mark", "sent", "5", "--tracking", "", "--carrier", "X"),
    bad("mark sent ESC in carrier", "mark", "sent", "5", "--tracking", "T1", "--carrier", "A\x1b[2J"),
    bad("mark ready 1.5", "mark", "ready", "1.5"),
    bad("mark unknown", "mark", "lost", "5"),
    bad("mark nothing", "mark"),
    bad("export no format", "export", says="--format"),
    bad("export xml", "export", "--format", "xml"),
    bad("export into missing folder", "export", "--format", "csv", "--output", "/nonexistent/x.csv",
        says="does not exist"),
    bad("export onto a folder", "export", "--format", "csv", "--output", "/tmp", says="is a folder"),
    bad("export empty name", "export", "--format", "json", "--output", ""),
    bad("export name too long", "export", "--format", "json", "--output", "/tmp/" + "n" * 5000),
    bad("list bad source", "list", "--source", "ebay"),
    bad("list unknown flag", "list", "--colour"),
    bad("unknown flag first", "--colour", "list"),
    bad("sync unknown account", "sync", "--account", "nope", codes=(1, 2), says="No account named 'nope'"),
    bad("invoice unknown account", "invoice", "5", "--account", "nope", codes=(1, 2),
        says="No account named 'nope'"),
    bad("invoice with a Marketplacer account", "invoice", "5", "--account", "mkt",
        says="not a Jumpseller account"),
    bad("mark with a Jumpseller account", "mark", "ready", "5", "--account", "shop",
        says="not a Marketplacer account"),
    bad("invoice an order not in the cache", "invoice", "5", codes=(1, 2)),
    bad("sync with nothing listening", "sync", codes=(1,), config=ONE, says="could not connect"),
    bad("account name with ESC", "sync", "--account", "\x1b]0;x\x07", codes=(1, 2), says="\\x1b]0;x\\x07"),
    ok("list"),
    ok("list", "--json", check=lambda out: json.loads(out.stdout) == []),
    ok("list", "--search", "\x1b[31m\r\n", "--account", "\u202e"),
    ok("list", "--json", cached=True, check=_json_array_of(1)),
    ok("list", "--status", "paid", "--needs-action", cached=True),
    ok("export", "--format", "csv", cached=True, says="source,account,id"),
    ok("--version", says="InvoiceDesk"),
    ok("invoice", "--all-pending", check=lambda out: "0 invoiced, 0 failed, 0 outcome unknown, 0 skipped" in out.stderr),
]

CONFIG_CASES = [
    bad("unclosed IPv6 bracket", "list", config=JS + 'api_url = "https://[zz/v1"\n', says="not a valid URL"),
    bad("port 99999", "list", config=JS + 'api_url = "https://api.example.com:99999/v1"\n'),
    bad("port abc", "list", config=JS + 'api_url = "https://api.example.com:abc/v1"\n'),
    bad("port 0", "list", config=JS + 'api_url = "https://api.example.com:0/v1"\n'),
    bad("NUL in a name", "list", config='[[jumpseller]]\nname = "a\\u0000b"\nlogin = "a"\n',
        says="control characters"),
    bad("CRLF in a name", "list", config='[[jumpseller]]\nname = "a\\r\\nb"\nlogin = "a"\n'),
    bad("5000-deep arrays", "list", config="x = " + "[" * 5000 + "]" * 5000 + "\n", says="nested too deeply"),
    bad("5000-deep inline tables", "list", config="x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"),
    bad("invalid UTF-8", "list", config=b"\xff\xfe\x00garbage"),
    bad("binary junk", "list", config=bytes(range(256)) * 4),
    bad("a BOM", "list", config=b"\xef\xbb\xbf" + GOOD.encode()),
    bad("2 MB file", "list", config="# " + "x" * 2_000_000 + "\n", says="too large"),
    bad("not TOML", "list", config="[[jumpseller]\n", says="not valid TOML"),
    bad("unknown top key", "list", config="colour = 'red'\n", says="unknown key 'colour'"),
    bad("secret in the file", "list", config=JS + 'token = "s3cret"\n', says="must not be in the configuration"),
    bad("name used twice", "list", config=JS + JS, says="used more than once"),
    bad("name 10k long", "list", config=f'[[jumpseller]]\nname = "{"n" * 10_000}"\nlogin = "a"\n'),
    bad("env name with a dash", "list", config=JS + 'token_env = "MY-TOKEN"\n'),
    bad("currency of umlauts", "list",
        config='[[marketplacer]]\nname = "m"\napi_url = "https://x.example"\ncurrency = "ÄÖÜ"\n'),
    bad("auto sync 10^21", "list", config="auto_sync_minutes = 1000000000000000000000\n"),
    bad("auto sync 1.5", "list", config="auto_sync_minutes = 1.5\n"),
    bad("jumpseller is a number", "list", config="jumpseller = 3\n", says="list of tables"),
    bad("api_url is a number", "list", config=JS + "api_url = 5\n", says="must be a string"),
    bad("plain http off this machine", "list", config=JS + 'api_url = "http://api.example.com/v1"\n'),
    bad("credentials in the URL", "list", config=JS + 'api_url = "https://u:p@api.example.com/v1"\n'),
    bad("ftp URL", "list", config=JS + 'api_url = "ftp://api.example.com/v1"\n'),
    bad("config is a folder", "--config", "/tmp", "list", config=None, says="cannot be read"),
    bad("config missing", "--config", "/nonexistent/config.toml", "list", config=None,
        says="no such configuration file"),
    bad("config name too long", "--config", "/tmp/" + "c" * 5000, "list", config=None),
    bad("missing secret env var", "sync", codes=(1,), config=ONE, secrets={},
        says="No API token for account 'shop'"),
]

CASES = ARGUMENT_CASES + CONFIG_CASES


def _order_cache(folder: Path) -> Path:
    body = json.loads((FIXTURES / "jumpseller" / "order-1026-docs-example.json").read_text())
    cache = Cache.open(folder)
    cache.upsert([parse_order(body, account="shop")])
    cache.close()
    return folder


def _run(case: Case, index: int, root: Path, template: Path) -> subprocess.CompletedProcess[str]:
    home = root / f"case{index}"
    home.mkdir()
    data = home / "data"
    if case.cached:
        shutil.copytree(template, data)
    config = home / "config.toml"
    if isinstance(case.config, bytes):
        config.write_bytes(case.config)
    elif isinstance(case.config, str):
        config.write_text(case.config, encoding="utf-8")
    env = cli_env(data, case.secrets, config)
    env = {k: v for k, v in env.items() if not k.startswith("FUZZ_")} | case.secrets
    if case.config is None:
        env.pop("INVOICEDESK_CONFIG")
    return subprocess.run(invoicedesk_cmd(*case.argv), env=env, capture_output=True, text=True,
                          errors="replace", timeout=60, cwd=home)


def _verdict(case: Case, out: subprocess.CompletedProcess[str]) -> str:
    """"" when the outcome is acceptable, else what is wrong with it."""
    if "Traceback" in out.stderr:
        return "a traceback"
    if out.returncode not in case.codes:
        return f"exit {out.returncode}, expected {sorted(case.codes)}"
    if out.returncode == 0:
        if case.says and case.says not in out.stdout:
            return f"stdout lacks {case.says!r}"
        if case.check is not None and not case.check(out):
            return "wrong output"
        return ""
    lines = out.stderr.splitlines()
    if len(lines) != 1 or not lines[0].startswith("invoicedesk: "):
        return f"{len(lines)} stderr lines"
    if case.says and case.says not in lines[0]:
        return f"the line lacks {case.says!r}"
    if any(ch in lines[0] for ch in "\x1b\x00\x07\r\u202e"):
        return "a raw control character in the line"
    return ""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, subprocess.CompletedProcess[str]]]:
    root = tmp_path_factory.mktemp("fuzz")
    template = _order_cache(root / "template")
    workers = min(4, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(workers) as pool:
        runs = list(pool.map(lambda ic: _run(ic[1], ic[0], root, template), enumerate(CASES)))
    results = {case.name: (_verdict(case, out), out) for case, out in zip(CASES, runs, strict=True)}
    clean = sum(1 for verdict, _out in results.values() if not verdict)
    print(f"\ncommand-line fuzz: {len(CASES)} cases tried, {clean} ended cleanly")
    return results


def test_case_names_are_unique() -> None:
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_ends_in_one_clean_line(outcomes, case: Case) -> None:
    verdict, out = outcomes[case.name]
    assert verdict == "", f"{verdict}\nexit {out.returncode}\nstdout: {out.stdout[:500]!r}\nstderr: {out.stderr[:2000]}"


def test_the_verdict_rejects_what_the_issue_reported() -> None:
    """The judge itself: a traceback, a second line, an unexpected success all fail."""
    case = bad("x", "invoice", "abc", says="'abc'")
    run = lambda code, err, out="": subprocess.CompletedProcess([], code, out, err)  # noqa: E731
    assert _verdict(case, run(2, "invoicedesk: argument order_id: 'abc' is not ...\n")) == ""
    assert _verdict(case, run(1, "Traceback (most recent call last):\nValueError: 'abc'\n"))
    assert _verdict(case, run(2, "invoicedesk: 'abc' bad\nsync of a failed: 'abc'\n"))
    assert _verdict(case, run(0, "", "done"))
    assert _verdict(case, run(2, "usage: invoicedesk\ninvoicedesk: error: 'abc'\n"))


# --------------------------------------------------------------------------- the parser alone

_TOKENS = st.one_of(
    st.sampled_from(["sync", "list", "invoice", "credit-note", "mark", "sent", "ready", "export",
                     "--all-pending", "--format", "--output", "--account", "--json", "--source",
                     "--tracking", "--carrier", "--force", "csv", "json", "jumpseller", "5", "0"]),
    st.text(max_size=12),
)


@settings(max_examples=300, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(_TOKENS, max_size=6))
def test_any_argument_list_parses_or_fails_in_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """In-process (fast), derandomized: the same 300 argument lists on every run."""
    if any(a in ("-h", "--help") or a.startswith("--h") for a in argv):
        return  # help is many lines on stdout by design
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:
        err = capsys.readouterr().err
        assert done.code in (0, 2)
        if done.code == 2:
            assert err.count("\n") == 1 and err.startswith("invoicedesk: ")
            assert not any(ch in err for ch in "\x1b\x00\x07\r")
        return
    for name in ("order_id", "invoice_id"):
        value = getattr(args, name, None)
        assert value is None or (value.isdigit() and int(value) > 0)
