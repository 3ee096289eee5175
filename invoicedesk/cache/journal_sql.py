"""The journal's statements, written once for both places a journal lives.

This desk's cache (SQLite) and the team database (PostgreSQL) hold the same ``journal`` table
and ask it the same questions: which entries match, which entry of a record is still open,
what was already made for a record, how an entry moves along. Only the placeholder differs
(``?`` for SQLite, ``%s`` for psycopg): every function takes it as ``mark``. Values always
travel as parameters; only column names and fixed clauses are joined into the text.
"""

from __future__ import annotations

import json
from typing import Any

from invoicedesk.cache.schema import JOURNAL_COLS

OPEN = "state NOT IN ('done', 'failed')"
"""An entry still open: running, crashed half-way, or of unknown outcome."""

MADE = "state IN ('done', 'invoiced')"
"""An entry whose document exists at the service (invoiced but not yet attached counts)."""


def select_entries(
    mark: str,
    source: str | None = None,
    account: str | None = None,
    record_id: str | None = None,
    *,
    open_only: bool = False,
) -> tuple[str, list[str]]:
    """Every entry matching the given record parts (None matches all), oldest first."""
    clauses: list[str] = []
    params: list[str] = []
    for col, val in (("source", source), ("account", account), ("record_id", record_id)):
        if val is not None:
            clauses.append(f"{col} = {mark}")
            params.append(val)
    if open_only:
        clauses.append(OPEN)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return f"SELECT {JOURNAL_COLS} FROM journal{where} ORDER BY id", params  # noqa: S608


def first_open(mark: str) -> str:
    """The record's oldest open entry; parameters: source, account, record_id."""
    return (
        f"SELECT {JOURNAL_COLS} FROM journal WHERE source={mark} AND account={mark} "  # noqa: S608
        f"AND record_id={mark} AND {OPEN} ORDER BY id LIMIT 1"
    )


def made_counts(mark: str) -> str:
    """(action, how many) made for a Jumpseller order; parameters: account, record_id."""
    return (
        f"SELECT action, COUNT(*) FROM journal WHERE source='jumpseller' AND account={mark} "  # noqa: S608
        f"AND record_id={mark} AND {MADE} GROUP BY action"
    )


def last_made_result(mark: str) -> str:
    """The result of the newest made entry of one action; parameters: account, record_id, action."""
    return (
        f"SELECT result FROM journal WHERE source='jumpseller' AND account={mark} "  # noqa: S608
        f"AND record_id={mark} AND action={mark} AND {MADE} ORDER BY id DESC LIMIT 1"
    )


def stored_documents(mark: str) -> str:
    """The documents stored with a Jumpseller order; parameters: account, record_id."""
    return (
        f"SELECT documents FROM records WHERE source='jumpseller' AND account={mark} "  # noqa: S608
        f"AND record_id={mark}"
    )


def public_id(result: Any) -> str:
    """The public id in a made entry's result, whichever way the driver hands the JSON back."""
    if result is None:
        return ""
    value = result if isinstance(result, dict) else json.loads(result or "{}")
    return str(value.get("public_id", ""))


def update_entry(
    mark: str,
    entry_id: int,
    *,
    state: str,
    step: str | None,
    result: dict[str, Any] | None,
    message: str | None,
    stamp: tuple[str, list[Any]],
    returning: str = "",
) -> tuple[str, list[Any]]:
    """Move an entry along: the state always, step/result/message only when given.

    ``stamp`` is the place's own bookkeeping (SQLite: ``updated_at = ?`` with the time;
    PostgreSQL: ``updated_at = now()`` and the change counter)."""
    sets = [f"state = {mark}", stamp[0]]
    params: list[Any] = [state, *stamp[1]]
    dumped = None if result is None else json.dumps(result)
    for col, val in (("step", step), ("result", dumped), ("message", message)):
        if val is not None:
            sets.append(f"{col} = {mark}")
            params.append(val)
    tail = f" RETURNING {returning}" if returning else ""
    return f"UPDATE journal SET {', '.join(sets)} WHERE id = {mark}{tail}", [*params, entry_id]  # noqa: S608
