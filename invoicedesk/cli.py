"""The command line: the same services as the window, for scripts and scheduled jobs.

``invoicedesk sync`` then ``invoicedesk invoice --all-pending`` is how a shop invoices every
paid order that has none on a schedule. Progress goes to stderr, results to stdout, errors are
one line, and the exit status is 0 only on success.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from invoicedesk import APP_NAME, __version__, export
from invoicedesk.actions import ActionOutcome, ActionRefusedError, Actions
from invoicedesk.cache import Cache, CacheError, Query
from invoicedesk.config import Config, KeyringSecrets, SecretSource, data_dir, load_config
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.needs import label
from invoicedesk.paths import describe_file_error, describe_folder_error
from invoicedesk.services import Services
from invoicedesk.sync import Syncer, SyncProgress

COMMANDS = ("sync", "list", "invoice", "credit-note", "mark", "export")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def is_command(argv: Sequence[str]) -> bool:
    """True when the arguments name a command (else the window opens)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--config":
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg in COMMANDS
    return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="invoicedesk", description=f"{APP_NAME} command line.")
    p.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    p.add_argument("--config", type=Path, help="configuration file (TOML)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sync", help="bring the cache up to date")
    s.add_argument("--account")
    s.add_argument("--full", action="store_true", help="re-read everything, not only what changed")
    s.add_argument("--deep", action="store_true", help="also look for changes to older orders now")

    ls = sub.add_parser("list", help="list cached orders and invoices (no network)")
    _filters(ls)
    ls.add_argument("--json", action="store_true", help="print a JSON array")

    inv = sub.add_parser("invoice", help="create the invoice of a paid Jumpseller order")
    inv.add_argument("--account")
    inv.add_argument("order_id", nargs="?")
    inv.add_argument("--all-pending", action="store_true", help="every cached paid order without invoice")
    inv.add_argument("--force", action="store_true", help="retry although the last outcome is unknown")

    cn = sub.add_parser("credit-note", help="issue the credit note of a canceled, invoiced order")
    cn.add_argument("--account")
    cn.add_argument("order_id")
    cn.add_argument("--force", action="store_true")

    mark = sub.add_parser("mark", help="mark a Marketplacer invoice sent, ready or collected")
    msub = mark.add_subparsers(dest="what", required=True)
    sent = msub.add_parser("sent")
    sent.add_argument("--account")
    sent.add_argument("invoice_id")
    sent.add_argument("--tracking", required=True)
    sent.add_argument("--carrier", required=True)
    sent.add_argument("--note", default="")
    sent.add_argument("--force", action="store_true")
    for what in ("ready", "collected"):
        m = msub.add_parser(what)
        m.add_argument("--account")
        m.add_argument("invoice_id")
        m.add_argument("--force", action="store_true")

    ex = sub.add_parser("export", help="export cached records as CSV or JSON (no network)")
    ex.add_argument("--format", choices=("csv", "json"), required=True)
    ex.add_argument("--output", type=Path)
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
    try:
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


def _err(message: str) -> None:
    print(f"invoicedesk: {message}", file=sys.stderr)


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
    rows = [export.row_dict(r) for r in cache.iter_all(_query(args))]
    if args.command == "list" and not args.json:
        out = sys.stdout
        for d in rows:
            total = f"{d['total']} {d['currency']}" if d["total"] is not None else "—"
            need = label(d["needs_action"]) if d["needs_action"] else ""
            out.write(
                f"{d['source']:<12} {d['account']:<14} {d['id']:>10}  {(d['date'] or '')[:10]:<10}  "
                f"{d['customer'][:28]:<28} {total:>16}  {d['status']:<16} {need}\n"
            )
        print(f"{len(rows)} records", file=sys.stderr)
        return EXIT_OK
    fmt = "json" if args.command == "list" else args.format
    if args.command == "export" and args.output:
        count = export.write(cache.iter_all(_query(args)), fmt, args.output)
        print(f"{count} records written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(export.render(rows, fmt))
    return EXIT_OK


# ---------------------------------------------------------------------- network commands


class _Progress:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, p: SyncProgress) -> None:
        total = f"/{p.total}" if p.total else ""
        self.stream.write(f"{p.account}: {p.phase} {p.done}{total}\n")
        self.stream.flush()


async def _network(
    args: argparse.Namespace, cfg: Config, secrets: SecretSource, cache: Cache, folder: Path
) -> int:
    services = Services(cfg, secrets, folder)
    actions = Actions(services, cache)
    try:
        for done in await actions.resume():
            print(f"{done.account} {done.record_id}: {done.message}", file=sys.stderr)
        if args.command == "sync":
            return await _sync(args, cfg, services, cache)
        if args.command == "invoice":
            return await _invoice(args, cfg, actions, cache)
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
        return EXIT_USAGE if isinstance(exc, ActionRefusedError) else EXIT_FAILED
    finally:
        await services.aclose()


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


async def _sync(args: argparse.Namespace, cfg: Config, services: Services, cache: Cache) -> int:
    accounts = [cfg.account(args.account)] if args.account else list(cfg.accounts)
    if not accounts:
        _err("no accounts configured")
        return EXIT_USAGE
    results = await Syncer(services, cache).sync_all(
        accounts, progress=_Progress(sys.stderr), full=args.full, deep=args.deep
    )
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
        return _report(await actions.create_invoice(acc, args.order_id, force=args.force))
    query = Query(source="jumpseller", account=args.account, needs_action=True)
    todo = [r.summary for r in cache.iter_all(query, sort="id", descending=False)]
    todo = [s for s in todo if s.needs_action == "invoice"]
    failures = 0
    for s in todo:
        try:
            outcome = await actions.create_invoice(s.account, s.id)
        except CacheError:
            raise  # a full disk fails every order the same way: one line, not one per order
        except InvoiceDeskError as exc:
            failures += 1
            _err(f"{s.account} order {s.id}: {exc}")
            continue
        _report(outcome)
    print(f"{len(todo) - failures} of {len(todo)} orders invoiced", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


def _report(outcome: ActionOutcome) -> int:
    extra = f" {outcome.public_id} {outcome.url}".rstrip() if outcome.public_id else ""
    print(f"{outcome.account} {outcome.record_id}: {outcome.state}{extra}")
    print(outcome.message, file=sys.stderr)
    return EXIT_OK if outcome.state in ("done", "already_done") else EXIT_FAILED
