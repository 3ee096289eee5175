"""The cache's schema: tables, migrations (``PRAGMA user_version``), the search index, and what
SQLite's errors mean.

Migrations run one script each, schema and version change committed together; the FTS5 trigram
index is optional (SQLite 3.34+) and rebuilt from the records table when it is missing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from invoicedesk.cache.errors import CacheError
from invoicedesk.cache.values import NEEDS_ORDER

CACHE_FILE = "cache.sqlite3"
JOURNAL_FILE = "actions-journal.jsonl"
SQLITE_MAGIC = b"SQLite format 3\x00"
DAMAGED_SUFFIX = ".damaged"
"""A marker next to the cache: a read found it damaged, so the next open sets it aside."""


MIGRATIONS: list[str] = [
    # 1: records, sync state and the action journal
    """
    CREATE TABLE records (
        rowid INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        account TEXT NOT NULL,
        record_id TEXT NOT NULL,
        id_sort INTEGER,
        date TEXT,
        customer TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        total TEXT,
        total_sort REAL,
        currency TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT '',
        status_label TEXT NOT NULL DEFAULT '',
        delivery_type TEXT NOT NULL DEFAULT '',
        invoice_public_id TEXT NOT NULL DEFAULT '',
        invoice_url TEXT NOT NULL DEFAULT '',
        needs_action TEXT NOT NULL DEFAULT '',
        search_text TEXT NOT NULL DEFAULT '',
        problems INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT,
        raw TEXT NOT NULL,
        documents TEXT,
        synced_at TEXT NOT NULL,
        UNIQUE (source, account, record_id)
    );
    CREATE INDEX records_date ON records (date DESC, rowid DESC);
    CREATE INDEX records_status ON records (status, date DESC);
    CREATE INDEX records_needs ON records (needs_action, date DESC);
    CREATE INDEX records_account ON records (account, date DESC);
    CREATE INDEX records_customer ON records (customer COLLATE NOCASE);
    CREATE INDEX records_total ON records (total_sort);
    CREATE INDEX records_id ON records (id_sort);

    CREATE TABLE sync_state (
        account TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        cursor TEXT,
        last_order_id INTEGER,
        last_synced_at TEXT,
        last_error TEXT
    );

    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        account TEXT NOT NULL,
        record_id TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        step TEXT NOT NULL DEFAULT '',
        request TEXT NOT NULL DEFAULT '{}',
        result TEXT NOT NULL DEFAULT '{}',
        message TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX journal_record ON journal (source, account, record_id, id);
    CREATE INDEX journal_open ON journal (state) WHERE state NOT IN ('done', 'failed');
    """,
    # 2: one index per sort of the list, so a page sorted by any column reads an index in order
    # instead of sorting every record (each index ends with the rowid, the list's tie-break).
    f"""
    CREATE INDEX records_source_sort ON records (source);
    CREATE INDEX records_account_sort ON records (account COLLATE NOCASE);
    CREATE INDEX records_email_sort ON records (email COLLATE NOCASE);
    CREATE INDEX records_total_sort ON records (currency, total_sort);
    CREATE INDEX records_status_sort ON records (status);
    CREATE INDEX records_delivery_sort ON records (delivery_type);
    CREATE INDEX records_invoice_sort ON records (invoice_public_id);
    CREATE INDEX records_needs_sort ON records ({NEEDS_ORDER});
    -- The newest records' search text, in the list's default order: a search for a common
    -- term matches them here without reading a single record (a narrow index, ~100 bytes a row).
    CREATE INDEX records_date_search ON records (date DESC, rowid DESC, search_text);
    """,
]

FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
    search_text, content='records', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS records_ai AFTER INSERT ON records BEGIN
    INSERT INTO records_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER IF NOT EXISTS records_ad AFTER DELETE ON records BEGIN
    INSERT INTO records_fts(records_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER IF NOT EXISTS records_au AFTER UPDATE OF search_text ON records BEGIN
    INSERT INTO records_fts(records_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO records_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
"""


JOURNAL_COLS = (
    "id, source, account, record_id, action, state, step, request, result, message, "
    "created_at, updated_at"
)
ONE_ENTRY = f"SELECT {JOURNAL_COLS} FROM journal WHERE id = ?"  # noqa: S608
CLOSED_STATES = ("done", "failed")
"""States that close an entry; any other state is unfinished."""


def sqlite_kind(exc: sqlite3.Error) -> str:
    """full | readonly | busy | damaged | io | cantopen | other, from SQLite's result code."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == 13 or "disk is full" in text:
        return "full"
    if primary == 8 or "readonly" in text:
        return "readonly"
    if primary in (5, 6) or "database is locked" in text or "is busy" in text:
        return "busy"
    if primary in (11, 26) or "malformed" in text or "not a database" in text:
        return "damaged"
    if primary == 10 or "disk i/o error" in text:
        return "io"
    if primary == 14 or "unable to open" in text:
        return "cantopen"
    return "other"


def short_line(text: str) -> str:
    """SQLite's multi-line diagnostics (``quick_check``) as a short single line."""
    return " ".join(text.replace("*** in database main ***", "").split())[:120]


def migrate_db(db: sqlite3.Connection, path: Path) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise CacheError(
            f"The cache {path} was written by a newer InvoiceDesk (schema {version}); "
            "update InvoiceDesk or move the file away."
        )
    for number in range(version, len(MIGRATIONS)):
        # One script per migration: schema and version change commit together or not at all.
        db.executescript(
            f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
        )


OUR_TABLES = frozenset({"records", "sync_state", "journal"})
