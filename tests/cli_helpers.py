"""Run the real ``invoicedesk`` command line in a subprocess against a sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def write_config(sb: Any, folder: Path) -> tuple[Path, dict[str, str]]:
    """A config file naming env vars, and the env holding the secrets (never in the file)."""
    lines: list[str] = []
    env: dict[str, str] = {}
    for i, store in enumerate(sb.stores):
        lines += [
            "[[jumpseller]]",
            f'name = "{store.login}"',
            f'login = "{store.login}"',
            f'api_url = "{sb.jumpseller_url}"',
            f'invoicing_url = "{sb.invoicing_url}"',
            f'token_env = "JS_TOKEN_{i}"',
        ]
        env[f"JS_TOKEN_{i}"] = store.token
        if store.hooks_token:
            lines.append(f'hooks_token_env = "JS_HOOKS_{i}"')
            env[f"JS_HOOKS_{i}"] = store.hooks_token
        lines.append("")
    for i, seller in enumerate(sb.sellers):
        lines += [
            "[[marketplacer]]",
            f'name = "{seller.name}"',
            f'api_url = "{sb.marketplacer_url}"',
            f'api_key_env = "MP_KEY_{i}"',
            f'currency = "{seller.currency}"',
            "",
        ]
        env[f"MP_KEY_{i}"] = seller.api_key
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, env


def cli_env(data_dir: Path, secrets: dict[str, str], config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JS_", "MP_"))}
    env.update(secrets)
    env["INVOICEDESK_DATA_DIR"] = str(data_dir)
    env["INVOICEDESK_CONFIG"] = str(config)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def invoicedesk_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoicedesk", *args]


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(invoicedesk_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout)


def sync_children(parent: int) -> list[int]:
    """Pids of ``invoicedesk sync --feed`` processes whose parent is ``parent``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"--feed" in cmdline and b"sync" in cmdline:
            found.append(int(entry))
    return found
