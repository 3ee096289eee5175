"""The command line: the same services as the window, for scripts and scheduled jobs.

``invoicedesk sync`` then ``invoicedesk invoice --all-pending`` is how a shop invoices every
paid order that has none on a schedule. Progress goes to stderr, results to stdout, errors are
one line, and the exit status is 0 only on success.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from invoicedesk import APP_NAME, __version__, export
from invoicedesk.actions import ActionOutcome, ActionRefusedError, Actions
from invoicedesk.cache import Cache, CacheError, Query
from invoicedesk.commands import COMMANDS, is_command  # noqa: F401 - cli.is_command is public
from invoicedesk.config import Account, Config, KeyringSecrets, SecretSource, load_config
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.journal import Journal, TeamJournal, UnavailableJournal
from invoicedesk.logs import setup_logging
from invoicedesk.needs import INVOICE_OWED, INVOICE_REFUSED, label
from invoicedesk.paths import data_dir, describe_file_error, describe_folder_error, log_dir
from invoicedesk.services import Services
from invoicedesk.sync import Syncer, SyncProgress, SyncResult
from invoicedesk.sync_fanout import stop_with_parent, sync_in_processes
from invoicedesk.sync_fanout import wanted as fan_out_wanted
from invoicedesk.sync_feed import (
    progress_line,
    read_feed,
    results_line,
    stopped_line,
    yield_to_the_window,
)
from invoicedesk.team.db import TeamDB
from invoicedesk.team.share import leased_sync, pull
from invoicedesk.textsafe import has_unsafe, terminal_safe

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with the command line's one-line errors: no usage block, control chars escaped.

    Subparsers inherit the class (``add_subparsers`` uses ``type(self)``), so every bad
    argument of every command ends the same way: one line on stderr and exit status 2.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"invoicedesk: {terminal_safe(message)} (see '{self.prog} --help')\n")


_MAX_ID_DIGITS = 18  # ids of both services fit a signed 64-bit integer


def record_id(text: str) -> str:
    """An order or invoice number: a positive whole number in plain digits ("1026", not "1e3")."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > _MAX_ID_DIGITS:
        raise argparse.ArgumentTypeError(f"'{text}' is not an order or invoice number (digits only)")
    if int(text) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not an order or invoice number (it must be 1 or more)")
    return str(int(text))


def plain_text(text: str) -> str:
    """A tracking number or carrier: one line, no control characters (they would reach the service)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    if has_unsafe(text):
        raise argparse.ArgumentTypeError(f"'{text}' holds control characters")
    return text


def note_text(text: str) -> str:
    """A note to the customer: line breaks and tabs are fine, other control characters are not."""
    if has_unsafe(text.replace("\n", " ").replace("\t", " ")):
        raise argparse.ArgumentTypeError(f"'{text}' holds control characters")
    return text


def output_file(text: str) -> Path:
    """A file the export can create or replace: its folder exists and it is not itself a folder."""
    path = Path(text)
    try:
        if not text:
            raise argparse.ArgumentTypeError("name a file")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"'{text}' is a folder; name a file in it")
        folder = path.parent
        if not folder.is_dir():
            raise argparse.ArgumentTypeError(f"'{text}': the folder '{folder}' does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"'{text}': the folder '{folder}' cannot be written")
    except OSError as exc:  # a name too long for the file system, a loop of symlinks, ...
        raise argparse.ArgumentTypeError(f"'{text}' cannot be used ({exc.strerror or exc})") from None
    return path


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="invoicedesk", description=f"{APP_NAME} command line.")
    p.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    p.add_argument("--config", type=Path, help="configuration file (TOML)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sync", help="bring the cache up to date")
    s.add_argument("--account")
    s.add_argument("--full", action="store_true", help="re-read everything, not only what changed")
    s.add_argument("--deep", action="store_true", help="also look for changes to older orders now")
    # The window's own sync: accounts and secrets on stdin, progress as JSON lines (sync_feed).
    s.add_argument("--feed", action="store_true", help=argparse.SUPPRESS)

    ls = sub.add_parser("list", help="list cached orders and invoices (no network)")
    _filters(ls)
    ls.add_argument("--json", action="store_true", help="print a JSON array")

    inv = sub.add_parser("invoice", help="create the invoice of a paid Jumpseller order")
    inv.add_argument("--account")
    inv.add_argument("order_id", nargs="?", type=record_id)
    inv.add_argument("--all-pending", action="store_true", help="every cached paid order without invoice")
    inv.add_argument(
        "--force",
        action="store_true",
        help="after an unknown outcome: re-read the order first, adopt an invoice found there, "
        "else send again (may make a second invoice if the service made one that never arrived)",
    )
    inv.add_argument(
        "--confirm-documents",
        action="store_true",
        help="invoice although the order carries documents whose type cannot be read",
    )

    cn = sub.add_parser("credit-note", help="issue the credit note of a canceled, invoiced order")
    cn.add_argument("--account")
    cn.add_argument("order_id", type=record_id)
    cn.add_argument("--force", action="store_true")

    ck = sub.add_parser(
        "check", help="look at the service for what an action of unknown outcome did, and adopt it"
    )
    ck.add_argument("--account")
    ck.add_argument("--source", choices=("jumpseller", "marketplacer"), default="jumpseller")
    ck.add_argument("record_id", help="order id (Jumpseller) or invoice id (Marketplacer)")

    team = sub.add_parser("team", help="team mode: the shared PostgreSQL database")
    tsub = team.add_subparsers(dest="what", required=True)
    tsub.add_parser("status", help="server, schema version, desks seen lately, who syncs which account")

    mark = sub.add_parser("mark", help="mark a Marketplacer invoice sent, ready or collected")
    msub = mark.add_subparsers(dest="what", required=True)
    sent = msub.add_parser("sent")
    sent.add_argument("--account")
    sent.add_argument("invoice_id", type=record_id)
    sent.add_argument("--tracking", required=True, type=plain_text)
    sent.add_argument("--carrier", required=True, type=plain_text)
    sent.add_argument("--note", default="", type=note_text)
    sent.add_argument("--force", action="store_true")
    for what in ("ready", "collected"):
        m = msub.add_parser(what)
        m.add_argument("--account")
        m.add_argument("invoice_id", type=record_id)
        m.add_argument("--force", action="store_true")

    ex = sub.add_parser("export", help="export cached records as CSV or JSON (no network)")
    ex.add_argument("--format", choices=("csv", "json"), required=True)
    ex.add_argument("--output", type=output_file)
    _filters(ex)
    return p


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", choices=("jumpseller", "marketplacer"))
    p.add_argument("--account")
    p.add_argument("--status")
    p.add_argument("--needs-action", action="store_true")
    p.add_argument("--search", default="")


def main(argv: Sequence[str], *, secrets: SecretSource | None = None, config: Config | None = None) -> int:
    args = build_parser().parse_args(list(argv))
    _quiet_logging()
    try:
        if getattr(args, "feed", False):
            stop_with_parent()
            yield_to_the_window()
            config, secrets = read_feed(sys.stdin.buffer)
        cfg = config if config is not None else load_config(args.config)
        folder = data_dir()
        cache = Cache.open(folder)
    except CacheError as exc:  # full disk, read-only folder, damaged or foreign file
        _err(str(exc))
        return EXIT_FAILED
    except OSError as exc:  # the data folder cannot be created
        _err(describe_folder_error(exc, Path(exc.filename or ".")))
        return EXIT_FAILED
    except InvoiceDeskError as exc:
        _err(str(exc))
        return EXIT_USAGE
    try:
        if args.command in ("list", "export"):
            if cfg.team is not None:
                asyncio.run(_pull_quietly(cfg, secrets or KeyringSecrets(), cache))
            return _list_or_export(cache, args)
        return asyncio.run(_network(args, cfg, secrets or KeyringSecrets(), cache, folder))
    except CacheError as exc:  # the disk filled up, or another InvoiceDesk held the cache too long
        _err(str(exc))
        return EXIT_FAILED
    except OSError as exc:  # an --output file that cannot be written
        _err(describe_file_error(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted; what was finished is saved")
        return EXIT_FAILED
    finally:
        cache.close()


def _quiet_logging() -> None:
    """Log records go to the log file, not to stderr: the command's own line says what failed.

    Without a handler Python's last-resort handler would print every warning (say, "sync of
    shop failed: ...") to stderr as a second, unprefixed line. ``INVOICEDESK_LOG_STDERR=1``
    still echoes them for debugging.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    try:
        folder = log_dir()
    except OSError:  # no writable log folder: the data folder's own error is the one line
        root.addHandler(logging.NullHandler())
        return
    setup_logging(folder=folder)
    if not root.handlers:
        root.addHandler(logging.NullHandler())


def _err(message: str) -> None:
    """One line on stderr, whatever the message quotes (a service's words, a config value)."""
    print(f"invoicedesk: {terminal_safe(message)}", file=sys.stderr)


# ---------------------------------------------------------------------- offline commands


def _query(args: argparse.Namespace) -> Query:
    return Query(
        source=args.source,
        account=args.account,
        status=args.status,
        needs_action=args.needs_action,
        search=args.search,
    )


def _list_or_export(cache: Cache, args: argparse.Namespace) -> int:
    try:
        return _print_records(cache, args)
    except BrokenPipeError:
        # The reader stopped early (``invoicedesk list | head``): nothing to explain. Point
        # stdout at /dev/null so the interpreter's last flush does not raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def _print_records(cache: Cache, args: argparse.Namespace) -> int:
    fmt = "json" if args.command == "list" else args.format
    if args.command == "list" and not args.json:
        rows = [export.row_dict(r) for r in cache.iter_all(_query(args))]
        out = sys.stdout
        if isinstance(out, io.TextIOWrapper):
            # A name a legacy code page cannot hold (李 in cp1252, when redirected on Windows)
            # is shown as \u674e instead of ending the listing in a UnicodeEncodeError.
            out.reconfigure(errors="backslashreplace")
        for d in rows:
            out.write(table_line(d))
        print(f"{len(rows)} records", file=sys.stderr)
        return EXIT_OK
    if args.command == "export" and args.output:
        try:
            count = export.write(cache.iter_all(_query(args)), fmt, args.output)
        except OSError as exc:  # the folder went away, the disk is full, ...
            _err(f"cannot write {args.output}: {exc.strerror or exc.__class__.__name__}")
            return EXIT_FAILED
        print(f"{count} records written to {terminal_safe(str(args.output))}", file=sys.stderr)
    else:
        _write_utf8(export.render(export.dicts(cache.iter_all(_query(args)), fmt), fmt))
    return EXIT_OK


def _write_utf8(text: str) -> None:
    """CSV and JSON on stdout are UTF-8 bytes, the same as ``--output`` writes, whatever the
    locale: a cp1252 stdout could not hold every customer name, and the data must stay exact."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # stdout replaced by a text-only stream (tests, embedding)
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def table_line(d: dict[str, object]) -> str:
    """One record of ``invoicedesk list`` as one terminal line (see :mod:`invoicedesk.textsafe`).

    Every field is escaped before it is cut to its column: a cut only shortens a visible escape
    such as ``\\x1b``, never lets a raw control character through, and a CR or LF in a customer
    name cannot split the record over two lines.
    """

    def cell(value: object) -> str:
        return terminal_safe("" if value is None else str(value))

    total = f"{cell(d['total'])} {cell(d['currency'])}" if d["total"] is not None else "—"
    need = label(str(d["needs_action"])) if d["needs_action"] else ""
    return (
        f"{cell(d['source']):<12} {cell(d['account']):<14} {cell(d['id']):>10}  {cell(d['date'])[:10]:<10}  "
        f"{cell(d['customer'])[:28]:<28} {total:>16}  {cell(d['status']):<16} {cell(need)}\n"
    )


# ---------------------------------------------------------------------- network commands


class _Progress:
    """Sync progress for a person watching a terminal; a script or a scheduled job gets only the
    summary and error lines, so a failure stays one line it can read or mail."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = stream.isatty()

    def __call__(self, p: SyncProgress) -> None:
        if not self.shown:
            return
        total = f"/{p.total}" if p.total else ""
        self.stream.write(f"{p.account}: {p.phase} {p.done}{total}\n")
        self.stream.flush()


async def _network(
    args: argparse.Namespace, cfg: Config, secrets: SecretSource, cache: Cache, folder: Path
) -> int:
    services = Services(cfg, secrets, folder)
    team, journal, team_error = await _team(cfg, secrets, cache, args)
    actions = Actions(services, cache, journal)
    try:
        if args.command == "team":
            if team is None:
                raise team_error or InvoiceDeskError(
                    "Team mode is off: there is no [team] in the configuration."
                )
            return await _team_status(team)
        # The window's own sync (--feed) leaves interrupted actions to the window, which resumes
        # them itself: two resumers would attach the same invoice twice.
        for done in [] if getattr(args, "feed", False) else await actions.resume():
            print(f"{done.account} {done.record_id}: {done.message}", file=sys.stderr)
        if args.command == "sync":
            return await _sync(args, cfg, secrets, services, cache, team, folder)
        if args.command == "invoice":
            return await _invoice(args, cfg, actions, cache)
        if args.command == "check":
            acc = _account(cfg, args.account, args.source)
            outcome = await actions.check(args.source, acc, str(args.record_id))
            return _report(outcome)
        if args.command == "credit-note":
            acc = _account(cfg, args.account, "jumpseller")
            return _report(await actions.create_credit_note(acc, args.order_id, force=args.force))
        if args.command == "mark":
            acc = _account(cfg, args.account, "marketplacer")
            if args.what == "sent":
                outcome = await actions.mark_sent(
                    acc,
                    args.invoice_id,
                    tracking=args.tracking,
                    carrier=args.carrier,
                    note=args.note,
                    force=args.force,
                )
            elif args.what == "ready":
                outcome = await actions.mark_ready(acc, args.invoice_id, force=args.force)
            else:
                outcome = await actions.mark_collected(acc, args.invoice_id, force=args.force)
            return _report(outcome)
        raise AssertionError(args.command)
    except InvoiceDeskError as exc:
        _err(str(exc))
        if getattr(args, "feed", False):
            print(stopped_line(str(exc), cache=isinstance(exc, CacheError)), flush=True)
        return EXIT_USAGE if isinstance(exc, ActionRefusedError) else EXIT_FAILED
    finally:
        await services.aclose()
        if team is not None:
            await team.aclose()


async def _team(
    cfg: Config, secrets: SecretSource, cache: Cache, args: argparse.Namespace
) -> tuple[TeamDB | None, Journal | None, InvoiceDeskError | None]:
    """The team database when ``[team]`` is set: connected, with this desk's copy brought up to
    date. Unreachable: actions are refused (never a local-only claim), a sync goes on alone."""
    if cfg.team is None:
        return None, None, None
    team = TeamDB(cfg.team, secrets, kind="window sync" if getattr(args, "feed", False) else "cli")
    try:
        await team.connect()
        await pull(team, cache)
    except InvoiceDeskError as exc:
        if args.command == "sync":
            _err(f"{exc} Syncing this desk alone.")
        return None, UnavailableJournal(exc), exc
    return team, TeamJournal(team, cache), None


async def _pull_quietly(cfg: Config, secrets: SecretSource, cache: Cache) -> None:
    """Before listing: what other desks did, if the team database answers; else the copy here."""
    assert cfg.team is not None
    team = TeamDB(cfg.team, secrets, kind="cli")
    try:
        await team.connect()
        await pull(team, cache)
    except InvoiceDeskError as exc:
        _err(f"{exc} Listing this desk's copy.")
    finally:
        await team.aclose()


async def _team_status(team: TeamDB) -> int:
    status = await team.status()
    print(f"server: {status.server}")
    print(f"schema version: {status.schema_version}")
    print("desks seen in the last 10 minutes:")
    for desk, kind, seen in status.desks:
        print(f"  {terminal_safe(desk)}  {kind or '-'}  last seen {seen:%Y-%m-%d %H:%M:%S} UTC")
    print("sync leases:")
    for account, desk, until in status.leases or []:
        print(f"  {terminal_safe(account)}: {terminal_safe(desk)} until {until:%H:%M:%S} UTC")
    if not status.leases:
        print("  none: no desk is syncing right now")
    return EXIT_OK


def _account(cfg: Config, name: str | None, source: str) -> str:
    if name:
        acc = cfg.account(name)
        if acc.source != source:
            raise ActionRefusedError(f"Account '{name}' is not a {source.capitalize()} account.")
        return name
    candidates = [a.name for a in cfg.accounts if a.source == source]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ActionRefusedError(f"No {source.capitalize()} account is configured.")
    raise ActionRefusedError(f"Several {source.capitalize()} accounts: name one with --account.")


async def _sync(
    args: argparse.Namespace,
    cfg: Config,
    secrets: SecretSource,
    services: Services,
    cache: Cache,
    team: TeamDB | None,
    folder: Path,
) -> int:
    accounts = [cfg.account(args.account)] if args.account else list(cfg.accounts)
    if not accounts:
        _err("no accounts configured")
        return EXIT_USAGE
    progress: Callable[[SyncProgress], None] = _Progress(sys.stderr)
    if args.feed:

        def progress(p: SyncProgress) -> None:
            print(progress_line(p), flush=True)

    async def sync_accounts(chosen: Sequence[Account]) -> list[SyncResult]:
        if fan_out_wanted(chosen):  # a store and a seller: a process each
            return await sync_in_processes(
                cfg, secrets, folder, chosen, progress=progress, full=args.full, deep=args.deep
            )
        syncer = Syncer(services, cache)
        return await syncer.sync_all(chosen, progress=progress, full=args.full, deep=args.deep)

    if team is not None:

        def skipped(account: str, desk: str) -> None:
            print(
                f"{account}: being synced by {desk}; its records arrive through the team database",
                file=sys.stderr,
            )

        # This desk leases, renews, pushes and releases; the syncing may fan out all the same.
        results = await leased_sync(team, cache, accounts, sync_accounts, skipped=skipped)
    else:
        results = await sync_accounts(accounts)
    if args.feed:
        print(results_line(results), flush=True)
    failed = 0
    for r in results:
        if r.ok:
            print(
                f"{r.account}: {r.fetched} records, {r.documents_checked} document checks, "
                f"{r.requests} requests, {r.seconds:.1f} s",
                file=sys.stderr,
            )
        else:
            failed += 1
            _err(f"{r.account}: {r.error}")
    return EXIT_FAILED if failed else EXIT_OK


async def _invoice(args: argparse.Namespace, cfg: Config, actions: Actions, cache: Cache) -> int:
    if args.all_pending == bool(args.order_id):
        _err("give an ORDER_ID or --all-pending (not both)")
        return EXIT_USAGE
    if args.order_id:
        acc = _account(cfg, args.account, "jumpseller")
        return _report(
            await actions.create_invoice(
                acc, args.order_id, force=args.force, confirm_documents=args.confirm_documents
            )
        )
    query = Query(source="jumpseller", account=args.account, needs_action=True)
    pending = [r.summary for r in cache.iter_all(query, sort="id", descending=False)]
    # Orders of an account removed from the configuration stay in the cache: skip them with
    # one line instead of failing once per order.
    configured = {a.name for a in cfg.jumpseller}
    for gone in sorted({s.account for s in pending} - configured):
        count = sum(1 for s in pending if s.account == gone and s.needs_action in INVOICE_OWED)
        _err(f"skipping {count} cached orders of '{gone}': the account is no longer configured")
    pending = [s for s in pending if s.account in configured]
    # Orders whose documents were not read yet are read right before acting: the claim decides.
    todo = [s for s in pending if s.needs_action in INVOICE_OWED]
    # Outcomes still unknown from earlier runs keep the run from reporting success until staff
    # have checked them (``invoicedesk check ORDER``).
    unknown = sum(1 for s in pending if s.needs_action == "outcome_unknown")
    skipped = [s for s in pending if s.needs_action in ("check_documents", *INVOICE_REFUSED)]
    for s in skipped:
        if s.needs_action == "check_documents":
            _err(
                f"{s.account} order {s.id}: skipped: it carries documents whose type cannot be "
                "read; look at them, then run 'invoicedesk invoice --confirm-documents' for it if "
                "none is an invoice"
            )
        else:
            # Refused by the invoicing rules as it stands (a business without a tax ID, amounts
            # that do not add up): owed, not done, so the run does not report success.
            _err(
                f"{s.account} order {s.id}: skipped: {label(s.needs_action)}; "
                "fix the order in Jumpseller, then sync"
            )
    done = failed = 0
    for s in todo:
        try:
            outcome = await actions.create_invoice(s.account, s.id)
        except CacheError:
            raise  # a full disk fails every order the same way: one line, not one per order
        except InvoiceDeskError as exc:
            if _journal_state(cache, s.account, s.id) == "unknown":
                unknown += 1
            else:
                failed += 1
            _err(f"{s.account} order {s.id}: {exc}")
            continue
        _report(outcome)
        done += outcome.state == "done"
    print(
        f"{done} invoiced, {failed} failed, {unknown} outcome unknown, {len(skipped)} skipped "
        f"(of {len(todo)} orders to invoice)",
        file=sys.stderr,
    )
    return EXIT_FAILED if failed or unknown or skipped else EXIT_OK


def _journal_state(cache: Cache, account: str, order_id: str) -> str:
    entries = cache.journal("jumpseller", account, order_id)
    return entries[-1].state if entries else ""


def _report(outcome: ActionOutcome) -> int:
    extra = f" {outcome.public_id} {outcome.url}".rstrip() if outcome.public_id else ""
    print(f"{outcome.account} {outcome.record_id}: {outcome.state}{extra}")
    print(outcome.message, file=sys.stderr)
    return EXIT_OK if outcome.state in ("done", "already_done", "adopted") else EXIT_FAILED
