"""Finishing what a crash or a lost connection interrupted, from the journal.

- ``invoiced``: the invoice exists; attach it (checking first it is not attached yet).
- ``pending`` whose owner is gone (this machine's process table, or the team's heartbeat):
  the request may or may not have reached the service. For Marketplacer the invoice's state
  tells; for invoicing nothing can tell, so the outcome is ``unknown`` (staff check, then retry
  with confirmation).
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from invoicedesk.actions.outcomes import JS, MP, ActionOutcome, _pid_alive, _targets
from invoicedesk.cache import JournalEntry
from invoicedesk.errors import InvoiceDeskError

log = logging.getLogger(__name__)

# ``self`` below is the ``Actions`` whose journal is being finished (typed loosely: ``core``
# imports this module, so it cannot import ``core`` back without a cycle).


async def resume(self: Any) -> list[ActionOutcome]:
    """Finish what a crash interrupted; called at start and before each sync.

    - ``invoiced``: the invoice exists; attach it (checking first it is not attached yet).
    - ``pending`` whose process is gone: the request may or may not have reached the
      service. For Marketplacer the invoice's state tells; for invoicing nothing can tell,
      so the outcome is ``unknown`` (staff check and retry with confirmation).
    """
    outcomes = []
    catch_up = getattr(self.journal, "catch_up", None)
    if catch_up is not None:
        await catch_up()  # outcomes kept here while the team database was away
    for entry in await self.journal.entries(open_only=True):
        try:
            outcome = await _resume_one(self, entry)
        except InvoiceDeskError as exc:
            log.warning("could not finish %s on %s: %s", entry.action, entry.record_id, exc)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes

async def _resume_one(self: Any, entry: JournalEntry) -> ActionOutcome | None:
    alive = await self.journal.owner_alive(entry)
    if alive:
        return None  # another desk is on it right now
    owner_pid = entry.request.get("pid")
    same_host = entry.request.get("host") == socket.gethostname()
    if (
        alive is None
        and entry.state == "pending"
        and same_host
        and isinstance(owner_pid, int)
        and owner_pid != os.getpid()
        and _pid_alive(owner_pid)
    ):
        return None  # another InvoiceDesk is doing it right now
    if entry.state in ("pending", "invoiced") and same_host and owner_pid == os.getpid():
        key = (entry.source, entry.account, entry.record_id)
        if key in self._running:
            return None
    if entry.state == "invoiced" and entry.source == JS:
        if entry.account not in {a.name for a in self.services.config.jumpseller}:
            return None
        js = self.services.jumpseller(entry.account)
        order = await js.get_order(int(entry.record_id))
        public_id = str(entry.result.get("public_id", ""))
        url = str(entry.result.get("url", ""))
        order = await self.attach(
            entry.id,
            entry.account,
            order,
            entry.action,
            public_id,
            url,
            str(entry.result.get("message", "")),
        )
        return ActionOutcome(
            entry.account,
            entry.record_id,
            entry.action,
            "done",
            f"Finished: {public_id} attached to order {entry.record_id}.",
            public_id,
            url,
            order,
        )
    if entry.state == "pending" and entry.source == MP:
        if entry.account not in {a.name for a in self.services.config.marketplacer}:
            return None
        client = self.services.marketplacer(entry.account)
        invoice = await client.get_invoice(entry.record_id)
        if invoice.status in _targets(entry.action):
            await self.journal.update(
                entry.id, state="done", message="Confirmed after a restart.", records=[invoice]
            )
            return ActionOutcome(
                entry.account,
                entry.record_id,
                entry.action,
                "done",
                "Confirmed after a restart.",
                record=invoice,
            )
        await self.journal.update(
            entry.id,
            state="failed",
            records=[invoice],
            message="Interrupted before the marketplace applied it; nothing changed.",
        )
        return None
    if entry.state == "pending":
        await self.journal.update(
            entry.id,
            state="unknown",
            message="InvoiceDesk stopped while waiting for the invoicing service: check whether the "
            "invoice was made before retrying.",
        )
        return ActionOutcome(
            entry.account,
            entry.record_id,
            entry.action,
            "unknown",
            "Outcome unknown after an interruption.",
        )
    return None
