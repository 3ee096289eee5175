"""A sandbox in its own process, for benchmarks: the server does not share our GIL.

with SandboxProcess(orders=10_000, invoices=10_000, stores=1) as sb:
    sb.jumpseller_url, sb.stores[0].token, sb.requests("jumpseller") ...
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

_CHILD = r"""
import json, sys
from invoicedesk.sandbox import Sandbox
kw = json.loads(sys.argv[1])
sb = Sandbox(**kw).start()
print(json.dumps({
    "base_url": sb.base_url, "jumpseller_url": sb.jumpseller_url, "marketplacer_url": sb.marketplacer_url,
    "invoicing_url": sb.invoicing_url, "credit_note_url": sb.credit_note_url,
    "control_url": sb.control_url,
    "stores": [dict(login=s.login, token=s.token, hooks_token=s.hooks_token, currency=s.currency,
                    language=s.language) for s in sb.stores],
    "sellers": [dict(name=m.name, api_key=m.api_key, basic_user=m.basic_user,
                     basic_password=m.basic_password, currency=m.currency) for m in sb.sellers],
}), flush=True)
sys.stdin.read()   # runs until the parent closes our stdin
sb.stop()
"""


class SandboxProcess:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SandboxProcess:
        root = str(Path(__file__).resolve().parents[1])
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, json.dumps(self.kwargs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        for key, value in info.items():
            if key == "stores" or key == "sellers":
                value = [SimpleNamespace(**v) for v in value]
            setattr(self, key, value)
        return self

    def requests(self, service: str) -> int:
        state = httpx.get(f"{self.control_url}/state", timeout=10).json()
        return int(state["requests"][service])

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
