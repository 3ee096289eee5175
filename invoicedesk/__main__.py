"""``python -m invoicedesk``: the same as the ``invoicedesk`` command."""

import sys

from invoicedesk.app import main

if __name__ == "__main__":
    sys.exit(main())
