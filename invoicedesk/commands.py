"""Which arguments name a command: decided before anything heavy loads.

A leaf (no imports from InvoiceDesk), so ``invoicedesk`` without a command opens the window
without loading the command line, and a command never loads Qt.
"""

from __future__ import annotations

from collections.abc import Sequence

COMMANDS = ("sync", "list", "invoice", "credit-note", "check", "mark", "export", "team")


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
