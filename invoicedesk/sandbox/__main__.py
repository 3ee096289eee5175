"""``invoicedesk-sandbox``: run the sandbox on its own and print where and how to reach it.

    invoicedesk-sandbox --port 8765
    curl -u demo-store:<token> http://127.0.0.1:8765/jumpseller/v1/orders.json

Runs until Ctrl+C or SIGTERM. The credentials it prints are the sandbox's fixed demo accounts.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from .server import Sandbox


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="invoicedesk-sandbox",
                                description="Serve fake Jumpseller, Marketplacer and invoicing APIs.")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    p.add_argument("--seed", type=int, default=7, help="seed for the generated data")
    p.add_argument("--orders", type=int, default=300, help="orders per store")
    p.add_argument("--invoices", type=int, default=300, help="invoices per seller")
    p.add_argument("--no-rate-limits", action="store_true", help="switch the rate limits off")
    return p


def describe(sb: Sandbox) -> str:
    lines = [
        f"InvoiceDesk sandbox on {sb.base_url} (virtual clock {sb.now():%Y-%m-%d %H:%M} UTC)",
        f"  Jumpseller API v1:  {sb.jumpseller_url}",
        f"  Marketplacer:       {sb.marketplacer_url}  (REST under /api/v2/client)",
        f"  Invoicing endpoint: {sb.invoicing_url}",
        f"  Control:            {sb.control_url}/state",
        "Jumpseller stores (Basic auth login:token):",
    ]
    for s in sb.stores:
        hooks = s.hooks_token or "(none: requests are not signed)"
        lines.append(f"  {s.login:<12} token={s.token}  hooks_token={hooks}  "
                     f"{s.currency} {s.language}")
    lines.append("Marketplacer sellers (Bearer api_key, or Basic user:password + MARKETPLACER-API-KEY):")
    for m in sb.sellers:
        lines.append(f"  {m.name:<12} api_key={m.api_key}  basic={m.basic_user}:{m.basic_password}  "
                     f"{m.currency}")
    first = sb.stores[0]
    lines.append(f"Try: curl -u {first.login}:{first.token} {sb.jumpseller_url}/orders.json")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sb = Sandbox(seed=args.seed, orders=args.orders, invoices=args.invoices,
                 rate_limits=not args.no_rate_limits, port=args.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        sb.start()
    except OSError as exc:
        print(f"invoicedesk-sandbox: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 2
    print(describe(sb), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sb.stop()
    print("Sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
