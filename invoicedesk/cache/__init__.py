"""The local cache: one SQLite file that lets staff review every order and invoice offline.

Each record is stored twice over: the columns the combined list shows, filters and sorts on
(indexed), and the raw payload exactly as the service sent it, so nothing is ever lost and a
record can be re-parsed by a newer InvoiceDesk. Reading never needs the network.

Design points:
- WAL mode, schema versioned with ``PRAGMA user_version`` migrations.
- Writes are one transaction per page of records: a crash mid-sync leaves whole pages.
- The list never loads the world: filtering, sorting and paging happen in SQL
  (``fetch(query, sort, offset, limit)``), so the first screenful costs the same at 1,000
  and at 100,000 records.
- Every column the list sorts on has an index in that order, so a sorted page is read from
  an index, never by sorting every record (``SORT_COLUMNS``; totals sort within currency).
- Search is a substring match over id, customer, email, SKUs and tracking numbers. A word in
  few records is looked up in an FTS5 trigram index (SQLite 3.34+) and those are sorted; a
  common word is matched against the first records in the list's order, where a page of
  matches is found; ``LIKE`` over every record only when neither finds a page.

Nothing lost, one clear line (what breaks a cache, and what happens then):
- Every SQLite or OS failure becomes one :class:`CacheError` sentence naming the file or folder
  and what to do: a full disk keeps the last complete transaction (a sync page) and names the
  folder whose disk is full; a read-only folder is "cannot write to <folder>", never "damaged";
  "database is locked" is waited out (busy timeout, then BEGIN IMMEDIATE retried) and only after
  ``busy_wait`` seconds becomes a sentence about another InvoiceDesk holding the cache.
- A 0-byte file, a file that is not SQLite, or a SQLite file that is not ours is refused and left
  as it is, never replaced. A new cache is built under a temporary name and linked into place only
  once its schema exists, so an InvoiceDesk killed while creating one never leaves a 0-byte cache.
- A damaged cache (``quick_check`` fails at open, a page read fails later, ``user_version`` out of
  range, a table missing) is set aside: its readable journal entries and those of the journal
  file are first written into a new cache, then the damaged file is renamed with a timestamp
  (never deleted), and staff are told how many unfinished actions were carried over. The
  verdict is checked again first (``quick_check`` on a fresh connection, twice): a file that
  passes is kept and only its search index is rebuilt, since a sound cache set aside would
  leave the window and the sync on different files.
- The journal of actions also lives outside SQLite, in ``actions-journal.jsonl`` next to the
  cache: every change of an entry is appended as one JSON line and fsync'd, after its
  transaction commits and before the caller sends anything to a service. Opening the cache
  restores entries that are missing in the table, or older there than in the file. Why a second
  file and not only ``synchronous=FULL``: FULL makes a commit survive a power cut, but not a
  deleted ``-wal`` file (after a crash, the WAL holds every commit since the last checkpoint) nor
  a damaged database, and those are exactly the cases where losing an "invoiced" entry makes the
  next run invoice the order again. The fsync of one short line costs what FULL's WAL fsync would,
  so the cache keeps ``synchronous=NORMAL`` for the bulk writes of a sync. The file stays small:
  once a passive checkpoint has copied every WAL frame into the (fsync'd) database file, the file
  is rewritten with only the unfinished entries (at close, at open, and when it passes 256 KB).
  Appends and rewrites take an ``fcntl`` lock, so several InvoiceDesk processes share it safely.

The rooms: :mod:`~invoicedesk.cache.schema` (tables, migrations, SQLite's errors),
:mod:`~invoicedesk.cache.opening` (refusing, creating, setting aside, transactions),
:mod:`~invoicedesk.cache.journal_file` (the append-only file), :mod:`~invoicedesk.cache.records`
(records, the list's queries, sync state), :mod:`~invoicedesk.cache.journal` (the journal of
actions and :class:`Cache` itself), :mod:`~invoicedesk.cache.values` and
:mod:`~invoicedesk.cache.errors`.
"""

from invoicedesk.cache.errors import (
    AlreadyDoneError,
    CacheBusyError,
    CacheDamagedError,
    CacheError,
    CacheFullError,
    CacheReadOnlyError,
    CacheRefusedError,
    CacheSetAsideError,
    JournalBusyError,
)
from invoicedesk.cache.journal import Cache
from invoicedesk.cache.journal_file import JournalFile
from invoicedesk.cache.schema import CACHE_FILE, JOURNAL_FILE
from invoicedesk.cache.values import (
    SORT_COLUMNS,
    JournalEntry,
    Query,
    RecordRow,
    Row,
    SyncState,
    documents_from_json,
    now_utc,
)

__all__ = [
    "CACHE_FILE",
    "JOURNAL_FILE",
    "SORT_COLUMNS",
    "AlreadyDoneError",
    "Cache",
    "CacheBusyError",
    "CacheDamagedError",
    "CacheError",
    "CacheFullError",
    "CacheReadOnlyError",
    "CacheRefusedError",
    "CacheSetAsideError",
    "JournalBusyError",
    "JournalEntry",
    "JournalFile",
    "Query",
    "RecordRow",
    "Row",
    "SyncState",
    "documents_from_json",
    "now_utc",
]
