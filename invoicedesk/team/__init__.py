"""Team mode: several desktops on one store, coordinated by a shared PostgreSQL database.

Each desktop keeps its own SQLite cache for offline review and fast search. The team
database is the truth for what must never happen twice and for what everyone should see:

- **claims**: the journal of actions lives in PostgreSQL. Claiming "invoice order X of store
  S" is one transaction under a per-record lock that also counts the invoices and credit notes
  already made anywhere in the team (``TeamDB.claim``); a partial unique index allows one
  open action per record. No local-only claim is ever made: without the team database,
  actions are refused with the reason, and the window stays usable for review.
- **one sync per account**: a lease row per account (``TeamDB.take_lease``) lets one desktop
  sync an account at a time; the others skip it and read the results, so a store's rate
  budget is spent once however many desktops are open.
- **everyone sees the same list**: records and journal entries one desktop fetches or
  changes are written to the team database with a change number; the others pull what is
  newer than the last number they saw (``TeamDB.changes_since``), every second in the window
  and before each command, without re-reading everything.

psycopg 3 is the driver: its connection strings and ``sslmode`` are libpq's own (what a
shop's IT people already write), it has an asyncio API for the window's event loop, and its
binary wheel brings libpq along, so the installer needs nothing from the system.
"""
