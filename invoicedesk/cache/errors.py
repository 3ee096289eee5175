"""What can go wrong with the cache, each a type the window and the command line turn into a sentence."""

from __future__ import annotations

from invoicedesk.cache.values import JournalEntry
from invoicedesk.claims import AlreadyDoneError
from invoicedesk.errors import InvoiceDeskError

__all__ = ["AlreadyDoneError"]  # re-exported: the claim rule lives in invoicedesk.claims


class CacheError(InvoiceDeskError):
    """The cache cannot be used; the message says what is wrong and what to do."""


class CacheFullError(CacheError):
    """The disk holding the cache is full (the last complete transaction is kept)."""


class CacheReadOnlyError(CacheError):
    """The data folder cannot be written (read-only file system, permissions)."""


class CacheBusyError(CacheError):
    """Another InvoiceDesk held the cache for longer than we wait."""


class CacheDamagedError(CacheError):
    """A page of the cache cannot be read; the next open sets the file aside."""


class CacheRefusedError(CacheError):
    """The cache file is not an InvoiceDesk cache (0 bytes, not SQLite, someone else's)."""


class CacheSetAsideError(CacheError):
    """The damaged cache was set aside and a new one started; the message says how."""


class JournalBusyError(InvoiceDeskError):
    """Another action on the same record is still open."""

    def __init__(self, entry: JournalEntry) -> None:
        self.entry = entry
        what = entry.action.replace("_", " ")
        if entry.state == "unknown":
            text = (
                f"The last '{what}' on {entry.record_id} has an unknown outcome: check it at the "
                "service, then retry with explicit confirmation."
            )
        else:
            text = f"A '{what}' on {entry.record_id} is already under way or was interrupted ({entry.state})."
        super().__init__(text)
