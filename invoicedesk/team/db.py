"""The team database: schema, claims, leases, the shared copy of records, and who is around.

One ``TeamDB`` per process, on one psycopg ``AsyncConnection`` (autocommit; explicit
transactions where a decision and a write must be one). Every failure to reach or use the
server becomes ``TeamUnavailableError`` with a sentence for staff; callers refuse the action
(nothing sent) rather than fall back to a local claim.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from invoicedesk.cache import JournalBusyError, JournalEntry, RecordRow, documents_from_json
from invoicedesk.cache import journal_sql as sql
from invoicedesk.cache.schema import JOURNAL_COLS
from invoicedesk.claims import check_balance
from invoicedesk.config import SecretSource, TeamConfig, resolve_secret
from invoicedesk.domain import Document
from invoicedesk.errors import InvoiceDeskError

SCHEMA_VERSION = 1
LEASE_SECONDS = 300  # a sync renews its lease as it goes; a desk that died frees it after this
RELEASE_WAIT = 0.25  # seconds closing waits for the server to release this desk's leases
ALIVE_SECONDS = 120  # a desk not seen for this long is gone (its open claims can be judged)
CONNECT_TIMEOUT = 5

_MIGRATIONS: list[str] = [
    """
    CREATE TABLE desks (
        desk text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        kind text NOT NULL DEFAULT '',
        seen_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE SEQUENCE changes;
    CREATE TABLE journal (
        id bigserial PRIMARY KEY,
        source text NOT NULL,
        account text NOT NULL,
        record_id text NOT NULL,
        action text NOT NULL,
        state text NOT NULL,
        step text NOT NULL DEFAULT '',
        request jsonb NOT NULL DEFAULT '{}',
        result jsonb NOT NULL DEFAULT '{}',
        message text NOT NULL DEFAULT '',
        desk text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        change bigint NOT NULL DEFAULT nextval('changes')
    );
    -- At most one open action per record, whatever happens: the database refuses a second.
    CREATE UNIQUE INDEX journal_one_open ON journal (source, account, record_id)
        WHERE state NOT IN ('done', 'failed');
    CREATE INDEX journal_record ON journal (source, account, record_id, id);
    CREATE INDEX journal_change ON journal (change);
    CREATE TABLE records (
        source text NOT NULL,
        account text NOT NULL,
        record_id text NOT NULL,
        raw text NOT NULL,
        documents text,
        currency text NOT NULL DEFAULT '',
        change bigint NOT NULL DEFAULT nextval('changes'),
        PRIMARY KEY (source, account, record_id)
    );
    CREATE INDEX records_change ON records (change);
    CREATE TABLE leases (
        account text PRIMARY KEY,
        desk text NOT NULL,
        until timestamptz NOT NULL
    );
    """,
]


class TeamUnavailableError(InvoiceDeskError):
    """The team database cannot be reached or used; nothing was claimed or sent."""


@dataclass(frozen=True, slots=True)
class Changes:
    records: list[RecordRow]
    journal: list[JournalEntry]
    last: int


@dataclass(frozen=True, slots=True)
class TeamStatus:
    server: str
    schema_version: int
    desks: list[tuple[str, str, datetime]]  # desk, kind, last seen
    leases: list[tuple[str, str, datetime]]  # account, desk, until


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def new_desk_id(kind: str = "") -> str:
    """This process's name in the team: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}{'/' + kind if kind else ''}"


def _entry(r: Sequence[Any]) -> JournalEntry:
    request = r[7] if isinstance(r[7], dict) else json.loads(r[7] or "{}")
    result = r[8] if isinstance(r[8], dict) else json.loads(r[8] or "{}")
    return JournalEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], request, result, r[9], r[10], r[11])


_ENTRY_COLUMNS = JOURNAL_COLS


class TeamDB:
    """This process's connection to the team database."""

    def __init__(self, config: TeamConfig, secrets: SecretSource, *, kind: str = "") -> None:
        self.config = config
        self.secrets = secrets
        self.desk = new_desk_id(kind)
        self.kind = kind
        self._conn: Any = None

    # ------------------------------------------------------------------ connection

    def _unavailable(self, exc: BaseException) -> TeamUnavailableError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return TeamUnavailableError(
            f"The team database ({self.config.where}) cannot be reached: {first}. Nothing was "
            "claimed or sent; review works from this desk's copy."
        )

    async def connect(self) -> TeamDB:
        import psycopg

        if self._conn is not None and not self._conn.closed:
            return self
        password = resolve_secret(
            self.config.password_env,
            self.config.password_key,
            self.secrets,
            what="team database password",
            account="team",
            required=False,
        )
        try:
            self._conn = await psycopg.AsyncConnection.connect(
                self.config.database_url,
                password=password or None,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="InvoiceDesk",
            )
            await self._migrate()
            await self.heartbeat()
        except psycopg.Error as exc:
            await self.aclose()
            raise self._unavailable(exc) from None
        return self

    async def aclose(self) -> None:
        """Release this desk's leases if the server answers at once, then close.

        Quitting never waits on the network for it: a lease left behind expires by itself.
        """
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            try:
                await asyncio.wait_for(
                    conn.execute("DELETE FROM leases WHERE desk = %s", (self.desk,)), RELEASE_WAIT
                )
            except Exception:  # noqa: S110 - closing: a lease left behind expires by itself
                pass
            await conn.close()

    async def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        await self.connect()
        try:
            cur = await self._conn.execute(sql, params)
            return list(await cur.fetchall()) if cur.description else []
        except psycopg.OperationalError as exc:
            await self.aclose()
            raise self._unavailable(exc) from None

    async def _migrate(self) -> None:
        conn = self._conn
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(4242424242)")  # one migrator at a time
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
            cur = await conn.execute("SELECT max(version) FROM schema_version")
            row = await cur.fetchone()
            version = int(row[0] or 0) if row else 0
            if version > len(_MIGRATIONS):
                raise TeamUnavailableError(
                    f"The team database ({self.config.where}) was set up by a newer InvoiceDesk "
                    f"(schema {version}); update this desk first."
                )
            for number in range(version, len(_MIGRATIONS)):
                await conn.execute(_MIGRATIONS[number])
                await conn.execute("INSERT INTO schema_version VALUES (%s)", (number + 1,))

    async def heartbeat(self) -> None:
        await self._conn.execute(
            "INSERT INTO desks (desk, host, pid, kind, seen_at) VALUES (%s, %s, %s, %s, now()) "
            "ON CONFLICT (desk) DO UPDATE SET seen_at = now()",
            (self.desk, socket.gethostname(), os.getpid(), self.kind),
        )

    # ------------------------------------------------------------------ claims

    async def claim(
        self,
        source: str,
        account: str,
        record_id: str,
        action: str,
        request: dict[str, Any],
        *,
        documents: Sequence[Document] | None = None,
    ) -> JournalEntry:
        """Claim the record for ``action`` for the whole team, or raise.

        One transaction: a per-record advisory lock, then the open-action check and (for
        invoices and credit notes) the count of what was already made by any desk, then the
        insert. The partial unique index refuses a second open action even if the lock were
        skipped. ``JournalBusyError`` / ``AlreadyDoneError`` say why not.
        """
        import psycopg

        await self.connect()
        conn = self._conn
        key = f"{source}\x1f{account}\x1f{record_id}"
        await self.heartbeat()
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
                cur = await conn.execute(sql.first_open("%s"), (source, account, record_id))
                row = await cur.fetchone()
                if row is not None:
                    raise JournalBusyError(_entry(row))
                if source == "jumpseller" and action in ("invoice", "credit_note"):
                    await self._check_balance(account, record_id, action, documents)
                request = {**request, "desk": self.desk}
                cur = await conn.execute(
                    "INSERT INTO journal (source, account, record_id, action, state, request, desk) "  # noqa: S608
                    f"VALUES (%s, %s, %s, %s, 'pending', %s, %s) RETURNING {_ENTRY_COLUMNS}",
                    (source, account, record_id, action, json.dumps(request), self.desk),
                )
                inserted = await cur.fetchone()
        except psycopg.errors.UniqueViolation:
            raise JournalBusyError(
                (await self.journal(source, account, record_id, open_only=True))[0]
            ) from None
        except psycopg.OperationalError as exc:
            await self.aclose()
            raise self._unavailable(exc) from None
        assert inserted is not None
        return _entry(inserted)

    async def _check_balance(
        self, account: str, record_id: str, action: str, fresh: Sequence[Document] | None
    ) -> None:
        conn = self._conn
        cur = await conn.execute(sql.made_counts("%s"), (account, record_id))
        made = {str(a): int(n) for a, n in await cur.fetchall()}
        cur = await conn.execute(sql.stored_documents("%s"), (account, record_id))
        row = await cur.fetchone()
        stored = documents_from_json(row[0]) if row and row[0] else ()
        cur = await conn.execute(sql.last_made_result("%s"), (account, record_id, action))
        last = await cur.fetchone()
        last_id = sql.public_id(last[0]) if last else ""
        check_balance(action, record_id, made=made, fresh=fresh, stored=stored, last_public_id=last_id)

    async def update(
        self,
        entry_id: int,
        *,
        state: str,
        step: str | None = None,
        result: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> JournalEntry:
        rows = await self._run(
            *sql.update_entry(
                "%s", entry_id, state=state, step=step, result=result, message=message,
                stamp=("updated_at = now(), change = nextval('changes')", []),
                returning=_ENTRY_COLUMNS,
            )
        )
        if not rows:
            raise TeamUnavailableError(f"Action {entry_id} is not in the team journal.")
        return _entry(rows[0])

    async def journal(
        self,
        source: str | None = None,
        account: str | None = None,
        record_id: str | None = None,
        *,
        open_only: bool = False,
    ) -> list[JournalEntry]:
        rows = await self._run(*sql.select_entries("%s", source, account, record_id, open_only=open_only))
        return [_entry(r) for r in rows]

    async def desk_alive(self, desk: str) -> bool:
        """Seen lately; and for a desk on this machine, its process still runs."""
        host, _, rest = desk.partition(":")
        pid_text = rest.partition(":")[0]
        if host == socket.gethostname() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
            return False
        rows = await self._run(
            "SELECT 1 FROM desks WHERE desk = %s AND seen_at > now() - make_interval(secs => %s)",
            (desk, ALIVE_SECONDS),
        )
        return bool(rows)

    # ------------------------------------------------------------------ one sync per account

    async def take_lease(self, account: str) -> str | None:
        """Take (or renew) the account's sync lease: ``None`` when taken, else the holder."""
        rows = await self._run(
            "INSERT INTO leases (account, desk, until) VALUES (%s, %s, now() + make_interval(secs => %s)) "
            "ON CONFLICT (account) DO UPDATE SET desk = excluded.desk, until = excluded.until "
            "WHERE leases.until < now() OR leases.desk = excluded.desk RETURNING desk",
            (account, self.desk, LEASE_SECONDS),
        )
        if rows:
            return None
        holder = await self._run("SELECT desk FROM leases WHERE account = %s", (account,))
        return str(holder[0][0]) if holder else "another desk"

    async def release_lease(self, account: str) -> None:
        await self._run("DELETE FROM leases WHERE account = %s AND desk = %s", (account, self.desk))

    # ------------------------------------------------------------------ the shared copy

    async def push_records(self, rows: Sequence[RecordRow]) -> None:
        """Store records for the team; unchanged ones keep their change number."""
        if not rows:
            return
        await self.connect()
        import psycopg

        try:
            async with self._conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO records (source, account, record_id, raw, documents, currency) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (source, account, record_id) DO UPDATE "
                    "SET raw = excluded.raw, documents = COALESCE(excluded.documents, records.documents), "
                    "currency = excluded.currency, change = nextval('changes') "
                    "WHERE records.raw IS DISTINCT FROM excluded.raw "
                    "OR (excluded.documents IS NOT NULL "
                    "AND records.documents IS DISTINCT FROM excluded.documents)",
                    [(r.source, r.account, r.record_id, r.raw, r.documents, r.currency) for r in rows],
                )
        except psycopg.OperationalError as exc:
            await self.aclose()
            raise self._unavailable(exc) from None

    async def changes_since(self, last: int, *, limit: int = 5000) -> Changes:
        """Records and journal entries changed after change number ``last``."""
        recs = await self._run(
            "SELECT source, account, record_id, raw, documents, currency, change FROM records "
            "WHERE change > %s ORDER BY change LIMIT %s",
            (last, limit),
        )
        entries = await self._run(
            f"SELECT {_ENTRY_COLUMNS}, change FROM journal WHERE change > %s ORDER BY change LIMIT %s",  # noqa: S608
            (last, limit),
        )
        top = max([last, *(int(r[6]) for r in recs), *(int(e[12]) for e in entries)])
        if len(recs) == limit or len(entries) == limit:
            # A partial batch: stop at the smaller of the two ends so nothing is skipped.
            ends = [int(r[6]) for r in recs[-1:]] + [int(e[12]) for e in entries[-1:]]
            top = min(ends)
            recs = [r for r in recs if int(r[6]) <= top]
            entries = [e for e in entries if int(e[12]) <= top]
        return Changes(
            [RecordRow(*r[:6]) for r in recs],
            [_entry(e[:12]) for e in entries],
            top,
        )

    # ------------------------------------------------------------------ status

    async def status(self, *, minutes: int = 10) -> TeamStatus:
        version = await self._run("SELECT max(version) FROM schema_version")
        desks = await self._run(
            "SELECT desk, kind, seen_at FROM desks WHERE seen_at > now() - make_interval(mins => %s) "
            "ORDER BY seen_at DESC",
            (minutes,),
        )
        leases = await self._run(
            "SELECT account, desk, until FROM leases WHERE until > now() ORDER BY account"
        )
        return TeamStatus(
            self.config.where,
            int(version[0][0] or 0) if version else 0,
            [(str(d), str(k), s.astimezone(UTC)) for d, k, s in desks],
            [(str(a), str(d), u.astimezone(UTC)) for a, d, u in leases],
        )
