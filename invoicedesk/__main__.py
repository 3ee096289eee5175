"""The ``invoicedesk`` command (and ``python -m invoicedesk``): a command, or the window.

A command (``invoicedesk list``, ``invoicedesk sync``...) runs the command line, which never
loads Qt; only when no command is named is the window's start-up (:mod:`invoicedesk.ui.app`)
imported, so a headless server or a scheduled job never needs a display or Qt's libraries.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from invoicedesk.commands import is_command


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if is_command(args):
        from invoicedesk import cli

        return cli.main(args)
    from invoicedesk.ui.app import main as open_window

    return open_window(args)


if __name__ == "__main__":
    sys.exit(main())
