"""Sync and actions on the qasync loop, reported to the window by signal.

The window never awaits the network itself: it asks the controller to start a sync or an
action and listens. Each job is an asyncio task on the one qasync loop; every outcome,
error included, comes back as a signal carrying plain sentences, so no coroutine ever opens
a dialog and no exception escapes into Qt.

It also keeps what the window shows about each account: reachable or not (and why), and
when it was last synced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from invoicedesk.action_table import ACTIONS, ActionName
from invoicedesk.actions import (
    ActionOutcome,
    ActionRefusedError,
    Actions,
    ConfirmationNeededError,
    refusal_for,
)
from invoicedesk.cache import Cache, Query
from invoicedesk.config import JumpsellerAccount
from invoicedesk.domain import Invoice, Order, Summary
from invoicedesk.errors import (
    InvoiceDeskError,
    OutcomeUnknownError,
    RejectedError,
    UnavailableError,
    staff_words,
)
from invoicedesk.journal import TeamJournal, UnavailableJournal
from invoicedesk.needs import invoice_refusal
from invoicedesk.services import Services
from invoicedesk.sync import Syncer, SyncProgress, SyncResult
from invoicedesk.team.db import TeamDB
from invoicedesk.team.share import pull
from invoicedesk.ui.auto_sync import AutoSyncPlan
from invoicedesk.ui.records_model import Key, record_key
from invoicedesk.ui.sync_process import SyncProcess

log = logging.getLogger(__name__)
T = TypeVar("T")
TEAM_PULL_MS = 1000  # what another desk did shows here within about a second

# Words from the one table of actions; the raw name for anything it does not know.
ACTION_WORDS: dict[str, str] = {str(name): spec.words for name, spec in ACTIONS.items()}


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the window knows about one account's connection."""

    name: str
    source: str
    online: bool | None = None  # None: not checked yet
    message: str = ""
    last_synced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActionReport:
    """How an action ended, in words for the message bar."""

    action: str
    key: Key
    kind: Literal["success", "error", "info"]
    message: str
    public_id: str = ""
    url: str = ""
    outcome: ActionOutcome | None = None
    needs_confirmation: bool = False  # staff may confirm and run it again (unreadable documents)


class Controller(QObject):
    """Starts syncs and actions as tasks, tracks what runs, and reports by signal."""

    syncStarted = Signal()
    syncProgress = Signal(SyncProgress)
    syncFinished = Signal(list)  # list[SyncResult]; empty when cancelled
    accountsChanged = Signal()
    actionStarted = Signal(str, tuple)  # action, Key
    actionFinished = Signal(ActionReport)
    recordsChanged = Signal(list)  # list[Key]
    teamChanged = Signal(list)  # list[Key] another desk fetched or changed

    def __init__(
        self,
        services: Services,
        cache: Cache,
        syncer: Syncer,
        actions: Actions,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self._original_services = services
        self.cache = cache
        self.syncer = syncer
        self.worker = SyncProcess(services.config, services.secrets, cache.path.parent, self)
        self.actions = actions
        self._states: dict[str, AccountState] = {}
        self._sync_task: asyncio.Task[list[SyncResult]] | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._running: dict[Key, tuple[str, asyncio.Task[ActionReport]]] = {}
        self._other: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._watching_network = False
        self._executor: ThreadPoolExecutor | None = None
        self._counter: ThreadPoolExecutor | None = None
        self._count_cache: Cache | None = None
        # Open unless start-up holds them: the cache is checked after the first paint, and no
        # second connection may open a file that check is about to set aside.
        self._reads_open = asyncio.Event()
        self._reads_open.set()
        self.last_results: list[SyncResult] = []
        #: Awaited after a sync, before ``syncFinished``: the window reads the list's new rows
        #: on the counting thread here, so its handler only shows them. Never fails the sync.
        self.before_finished: Callable[[], Awaitable[None]] | None = None
        self.team: TeamDB | None = None
        self.team_message = ""
        self._pulling = False
        self.team_timer = QTimer(self)
        self.team_timer.setInterval(TEAM_PULL_MS)
        self.team_timer.timeout.connect(self._pull_team)
        self.auto_plan = AutoSyncPlan(services.config.auto_sync_minutes)
        self.auto_timer = QTimer(self)
        self.auto_timer.setSingleShot(True)  # re-armed after every sync, for the plan's next wait
        self.auto_timer.timeout.connect(self._auto_sync)
        self.reload_states()
        self.set_auto_sync(services.config.auto_sync_minutes)

    # ------------------------------------------------------------------ accounts

    def reload_states(self) -> None:
        """Accounts from the configuration, last-synced times from the cache."""
        synced = {s.account: s for s in self.cache.sync_states()}
        states: dict[str, AccountState] = {}
        for acc in self.services.config.accounts:
            old = self._states.get(acc.name)
            s = synced.get(acc.name)
            states[acc.name] = AccountState(
                acc.name,
                acc.source,
                old.online if old else None,
                old.message if old else "",
                s.last_synced_at if s else None,
            )
        self._states = states
        self.accountsChanged.emit()

    def states(self) -> list[AccountState]:
        return list(self._states.values())

    def state(self, account: str) -> AccountState | None:
        return self._states.get(account)

    def _set_state(self, account: str, online: bool, message: str) -> None:
        old = self._states.get(account)
        if old is None:
            return
        synced = self.cache.sync_state(account, old.source).last_synced_at
        self._states[account] = AccountState(account, old.source, online, message, synced)

    # ------------------------------------------------------------------ automatic sync

    def set_auto_sync(self, minutes: int) -> None:
        """Sync by itself every ``minutes`` (0: off), counting from now."""
        self.auto_plan.choose(minutes)
        self._schedule_auto()

    @property
    def auto_sync_minutes(self) -> int:
        return self.auto_plan.minutes

    def _schedule_auto(self) -> None:
        delay = self.auto_plan.delay_minutes()
        if delay is None or self._closing:
            self.auto_timer.stop()
        else:
            self.auto_timer.start(delay * 60_000)

    def _auto_sync(self) -> None:
        """The timer: a sync, or while nothing answers, first a light connection check."""
        if self.auto_plan.next_step() == "check":
            self.spawn(self._auto_check())
        elif self.sync() is None:
            self._schedule_auto()  # one is running (or no account yet): its end re-arms the timer

    async def _auto_check(self) -> None:
        await self.check_connections()
        anything = any(st.online for st in self._states.values())
        if not anything:
            self._watch_network()
        if self.auto_plan.reached(anything) == "sync" and self.sync() is not None:
            return
        self._schedule_auto()

    def _after_sync(self, results: list[SyncResult]) -> None:
        """A sync ended: note whether anything answered, and count the next wait from now."""
        if results:
            reached = any(r.ok for r in results)
            if not reached:
                self._watch_network()
            self.auto_plan.reached(reached)
        self._schedule_auto()

    def network_back(self) -> None:
        """The system reports the network up again: sync at once if nothing answered before."""
        if self.auto_plan.network_back() == "sync" and not self._closing:
            self.auto_plan.reached(True)
            if self.sync() is None:
                self._schedule_auto()

    @property
    def watching_network(self) -> bool:
        """Whether the window follows the system's network state (from the first failed reach)."""
        return self._watching_network

    def _watch_network(self) -> None:
        """Follow the system's reachability where Qt can read it (NetworkManager, GLib, Windows,
        macOS); elsewhere the backed-off checks find the network again.

        Only from the first time nothing answered: only then is "the network is back" news, and
        QtNetwork with the system's backend plugin costs the window about 9 ms and 4 MiB.
        """
        if self._watching_network:
            return
        self._watching_network = True
        try:
            from PySide6.QtNetwork import QNetworkInformation
        except ImportError:  # a build without QtNetwork
            return
        feature = QNetworkInformation.Feature.Reachability
        if not QNetworkInformation.loadBackendByFeatures(feature):
            return
        info = QNetworkInformation.instance()
        if info is None:
            return
        info.reachabilityChanged.connect(self._on_reachability)

    def _on_reachability(self, reachability: object) -> None:
        if getattr(reachability, "name", "") == "Online":
            self.network_back()

    async def replace_services(self, services: Services) -> None:
        """New configuration: stop the sync, let running actions finish, then use the new clients."""
        self.cancel_sync()
        busy = [t for t in (self._sync_task, *(t for _a, t in self._running.values())) if t is not None]
        if busy:
            await asyncio.gather(*busy, return_exceptions=True)
        old = self.services
        self.services = services
        self.syncer.services = services
        self.actions.services = services
        await self.worker.configure(services.config, services.secrets)
        self.reload_states()
        self.set_auto_sync(self.auto_plan.minutes)  # the window's choice outlives new accounts
        if old is not self._original_services:
            await old.aclose()  # ours to close; the first one belongs to whoever made it

    # ------------------------------------------------------------------ start-up

    def start(self, *, sync: bool) -> asyncio.Task[None]:
        """Finish interrupted actions, then sync (or only check the connections)."""
        if self._start_task is None:
            self._start_task = asyncio.ensure_future(self._start(sync))
        return self._start_task

    async def _start(self, sync: bool) -> None:
        await self._join_team()
        if sync:
            task = self.sync()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            return
        await self._resume()
        await self.check_connections()

    # ------------------------------------------------------------------ team mode

    async def _join_team(self) -> None:
        """With ``[team]``: claims go to the team database, and its changes are pulled every
        second. Unreachable: actions are refused with the reason; review works from the copy
        here, and the next pull tries again."""
        team_config = self.services.config.team
        if team_config is None:
            return
        if self.team is None:
            self.team = TeamDB(team_config, self.services.secrets, kind="window")
        try:
            await self.team.connect()
        except InvoiceDeskError as exc:
            self.actions.journal = UnavailableJournal(exc)
            self.team_message = str(exc)
        else:
            self.actions.journal = TeamJournal(self.team, self.cache)
            self.team_message = ""
        self.team_timer.start()

    def _pull_team(self) -> None:
        if self._pulling or self._closing or self.team is None:
            return
        self._pulling = True
        self.spawn(self._pull_once())

    async def _pull_once(self) -> None:
        assert self.team is not None
        try:
            if isinstance(self.actions.journal, UnavailableJournal):
                await self._join_team()
                if isinstance(self.actions.journal, UnavailableJournal):
                    return
            await self.team.heartbeat()
            keys = await pull(self.team, self.cache)
        except InvoiceDeskError as exc:
            self.actions.journal = UnavailableJournal(exc)
            self.team_message = str(exc)
            return
        finally:
            self._pulling = False
        if keys:
            self.teamChanged.emit(list(dict.fromkeys(keys)))

    async def check_connections(self) -> None:
        states = await self.services.check_all()
        for st in states:
            self._set_state(st.account, st.ok, st.message)
        self.accountsChanged.emit()

    async def _resume(self) -> None:
        try:
            outcomes = await self.actions.resume()
        except InvoiceDeskError as exc:  # resume logs per entry; this is a last guard
            log.warning("could not finish interrupted actions: %s", exc)
            return
        keys = [self._outcome_key(o) for o in outcomes]
        if keys:
            self.recordsChanged.emit(keys)

    def _outcome_key(self, o: ActionOutcome) -> Key:
        source = "jumpseller" if o.action in ("invoice", "credit_note") else "marketplacer"
        return (source, o.account, o.record_id)

    # ------------------------------------------------------------------ sync

    @property
    def syncing(self) -> bool:
        return self._sync_task is not None and not self._sync_task.done()

    def sync(self, *, deep: bool = False) -> asyncio.Task[list[SyncResult]] | None:
        """Start a sync of every account, unless one is running (then ``None``)."""
        if self.syncing or self._closing or not self.services.config.accounts:
            return None  # nothing to sync yet: the window shows its welcome, not a sync message
        self._sync_task = asyncio.ensure_future(self._sync(deep))
        self.syncStarted.emit()  # at once: the click shows progress and Cancel before any I/O
        return self._sync_task

    def cancel_sync(self) -> None:
        if self._sync_task is not None and not self._sync_task.done():
            self._sync_task.cancel()

    async def _sync(self, deep: bool) -> list[SyncResult]:
        results: list[SyncResult] = []
        try:
            await self._resume()
            results = await self.worker.sync(progress=self._progress, deep=deep)
        except asyncio.CancelledError:
            results = []
            self.reload_states()
            self._after_sync(results)
            self.syncFinished.emit(results)
            raise
        except Exception as exc:  # a bug, not a service problem: keep the window alive
            log.exception("sync failed")
            results = [
                SyncResult(a.name, a.source, error=f"Sync stopped by an unexpected error: {exc}")
                for a in self.services.config.accounts
            ]
        for r in results:
            self._set_state(r.account, r.ok, "Connected." if r.ok else (r.error or "Not reachable."))
        self.last_results = results
        self._after_sync(results)
        if self.before_finished is not None:
            try:
                await self.before_finished()
            except Exception:  # the handler then reads on the GUI thread, as it can
                log.exception("reading the list ahead of the sync's end failed")
        self.accountsChanged.emit()
        self.syncFinished.emit(results)
        return results

    def _progress(self, p: SyncProgress) -> None:
        self.syncProgress.emit(p)

    # ------------------------------------------------------------------ actions

    def running_action(self, key: Key) -> str | None:
        entry = self._running.get(key)
        return entry[0] if entry is not None else None

    def is_busy(self, key: Key) -> bool:
        return key in self._running

    def refusal(self, record: Order | Invoice, action: str) -> str | None:
        """Why ``action`` cannot be started on ``record`` right now (a tooltip), or ``None``."""
        key = record_key(record.summary())
        running = self.running_action(key)
        if running is not None:
            return f"{ACTION_WORDS.get(running, running)} is running on this record; wait for it to finish."
        if action == "check":
            if self.unknown_outcome(record) is None:
                return "Nothing to check: no action on this record has an unknown outcome."
        else:
            unknown = self.unknown_outcome(record)
            if unknown is not None:
                return (
                    f"The last {ACTION_WORDS.get(unknown, unknown)} on this record got no answer: "
                    "use Check at the service, or Retry."
                )
            reason = refusal_for(record, action, credit_note_configured=self._credit_notes(record.account))
            if reason:
                return reason
            if action == "invoice" and isinstance(record, Order):
                refused = invoice_refusal(record)  # the same rule the list's Needs action shows
                if refused is not None:
                    return refused[1]
        st = self._states.get(record.account)
        if st is None:
            return f"The account '{record.account}' is no longer configured."
        if st.online is False:
            why = staff_words(st.message).rstrip(".")
            return f"{record.account} cannot be reached now: {why}. Sync (F5) to try again."
        return None

    def _credit_notes(self, account: str) -> bool:
        acc = next((a for a in self.services.config.jumpseller if a.name == account), None)
        return isinstance(acc, JumpsellerAccount) and bool(acc.credit_note_url)

    def unknown_outcome(self, record: Order | Invoice) -> str | None:
        """The action whose outcome is unknown on this record (staff check, then retry), if any."""
        s = record.summary()
        for entry in self.cache.journal(s.source.value, s.account, s.id, open_only=True):
            if entry.state == "unknown":
                return entry.action
        return None

    def last_failure(self, record: Order | Invoice, action: str) -> str | None:
        """The service's words when the record's last journal entry is ``action`` ending
        ``failed`` (refused, or never reached): a new try is asked about, never sent blindly."""
        s = record.summary()
        entries = self.cache.journal(s.source.value, s.account, s.id)
        last = entries[-1] if entries else None
        if last is None or last.action != action or last.state != "failed":
            return None
        return last.message or "no reason was given."

    def run_action(
        self, action: ActionName, summary: Summary, **kwargs: str
    ) -> asyncio.Task[ActionReport] | None:
        """Start ``action`` on a record; ``None`` (and nothing sent) if one already runs on it."""
        key = record_key(summary)
        if key in self._running or self._closing:
            return None
        task = asyncio.ensure_future(self._act(action, summary, kwargs))
        self._running[key] = (action, task)
        self.actionStarted.emit(action, key)
        return task

    def _call(
        self, action: str, summary: Summary, kwargs: dict[str, str]
    ) -> Coroutine[Any, Any, ActionOutcome]:
        acc, rid = summary.account, summary.id
        a = self.actions
        calls: dict[str, Callable[[], Coroutine[Any, Any, ActionOutcome]]] = {
            "invoice": lambda: a.create_invoice(
                acc,
                rid,
                force=bool(kwargs.get("force")),
                confirm_documents=bool(kwargs.get("confirm_documents")),
            ),
            "credit_note": lambda: a.create_credit_note(acc, rid, force=bool(kwargs.get("force"))),
            "check": lambda: a.check(summary.source.value, acc, rid),
            "mark_sent": lambda: a.mark_sent(
                acc,
                rid,
                tracking=kwargs.get("tracking", ""),
                carrier=kwargs.get("carrier", ""),
                note=kwargs.get("note", ""),
            ),
            "mark_ready": lambda: a.mark_ready(acc, rid),
            "mark_collected": lambda: a.mark_collected(acc, rid),
        }
        return calls[action]()

    async def _act(self, action: str, summary: Summary, kwargs: dict[str, str]) -> ActionReport:
        key = record_key(summary)
        what = _what(summary)
        try:
            outcome = await self._call(action, summary, kwargs)
            report = _success(action, key, outcome)
            self._set_state(summary.account, True, "Connected.")
        except RejectedError as exc:
            who = "The invoicing service" if action in ("invoice", "credit_note") else "The marketplace"
            report = ActionReport(
                action,
                key,
                "error",
                f"{who} refused {ACTION_WORDS[action]} for {what}: {'; '.join(exc.messages)} "
                "Nothing was changed.",
            )
        except OutcomeUnknownError as exc:
            report = ActionReport(
                action,
                key,
                "error",
                f"{ACTION_WORDS[action]} for {what}: the outcome is unknown. Check at the service "
                f"before trying again. What happened: {exc}",
            )
        except ConfirmationNeededError as exc:
            report = ActionReport(action, key, "error", str(exc), needs_confirmation=True)
        except ActionRefusedError as exc:
            report = ActionReport(action, key, "error", str(exc))
        except UnavailableError as exc:
            self._set_state(summary.account, False, str(exc))
            report = ActionReport(
                action, key, "error", f"{ACTION_WORDS[action]} for {what} could not be done: {exc}"
            )
        except InvoiceDeskError as exc:
            report = ActionReport(
                action, key, "error", f"{ACTION_WORDS[action]} for {what} could not be done: {exc}"
            )
        except asyncio.CancelledError:
            self._running.pop(key, None)
            raise
        except Exception as exc:  # a bug: log the traceback, tell staff, keep the window alive
            log.exception("%s on %s failed unexpectedly", action, key)
            report = ActionReport(
                action,
                key,
                "error",
                f"{ACTION_WORDS[action]} for {what} stopped by an unexpected error ({type(exc).__name__}: "
                f"{exc}). The details are in the log file.",
            )
        self._running.pop(key, None)
        self.accountsChanged.emit()
        self.recordsChanged.emit([key])
        self.actionFinished.emit(report)
        return report

    # ------------------------------------------------------------------ background jobs

    async def in_thread(self, fn: Callable[[], T]) -> T:
        """Run blocking disk work (an export) off the GUI thread, on a thread this object owns.

        Not the loop's default executor: qasync's is a pool of QThreads that outlives a window
        and shows up as "QThread: Destroyed while thread is still running" at exit.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="invoicedesk-worker")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def count(self, query: Query) -> int:
        """How many records match ``query``, counted on a thread with its own cache connection."""
        return int(await self._on_counter(lambda c: c.count(query)))

    async def needs_counts(self, query: Query, codes: Sequence[str]) -> dict[str, int]:
        """How many records of ``query`` wait for each need code (the views), on the same thread
        and connection: the window's own connection stays free for the list it paints."""
        counts: dict[str, int] = await self._on_counter(lambda c: c.needs_counts(query, codes))
        return counts

    async def read(self, read: Callable[[Cache], T]) -> T:
        """Any read of the cache, on the counting thread and its connection (the list's live
        refresh during a sync): the GUI thread does not wait for SQLite or for building rows."""
        result: T = await self._on_counter(read)
        return result

    def hold_reads(self) -> None:
        """Counts wait (start-up: until the cache has been checked)."""
        self._reads_open.clear()

    def release_reads(self) -> None:
        self._reads_open.set()

    async def _on_counter(self, read: Callable[[Cache], Any]) -> Any:
        await self._reads_open.wait()

        def work() -> Any:
            if self._count_cache is None:  # opened in the counting thread, used only there
                self._count_cache = Cache(self.cache.path)
            return read(self._count_cache)

        if self._counter is None:
            self._counter = ThreadPoolExecutor(1, thread_name_prefix="invoicedesk-count")
        return await asyncio.get_running_loop().run_in_executor(self._counter, work)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a helper job (an export) that ``shutdown`` waits for."""
        task = asyncio.ensure_future(coro)
        self._other.add(task)
        task.add_done_callback(self._other.discard)
        return task

    async def shutdown(self) -> None:
        """Cancel everything still running and wait for it (quitting leaves no pending task)."""
        self._closing = True
        self.auto_timer.stop()
        self.team_timer.stop()
        # The sync child is killed, not asked and waited for: every page it stored is one
        # transaction, and the next sync carries on from there.
        await self.worker.close()
        tasks: list[asyncio.Task[Any]] = [t for _a, t in self._running.values()]
        tasks += list(self._other)
        for t in (self._sync_task, self._start_task):
            if t is not None:
                tasks.append(t)
        pending = [t for t in tasks if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self.services is not self._original_services:
            await self.services.aclose()
        if self.team is not None:
            await self.team.aclose()
        if self._counter is not None:
            counting = self._count_cache
            if counting is not None:
                counting.interrupt()  # a count still running (a search at 100k) is dropped
                self._counter.submit(counting.close)
            self._counter.shutdown(wait=True)
            self._counter = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _what(summary: Summary) -> str:
    noun = "order" if summary.source.value == "jumpseller" else "invoice"
    return f"{noun} {summary.id}"


def _success(action: str, key: Key, o: ActionOutcome) -> ActionReport:
    if o.state == "already_done":
        return ActionReport(action, key, "info", o.message, o.public_id, o.url, o)
    if o.state in ("unknown", "not_found"):
        return ActionReport(action, key, "error", o.message, o.public_id, o.url, o)
    if o.state == "failed":  # a check that proved nothing was done: retry is allowed
        return ActionReport(action, key, "info", o.message, o.public_id, o.url, o)
    return ActionReport(action, key, "success", o.message, o.public_id, o.url, o)
