"""A real PostgreSQL server for the team-mode tests: initdb and pg_ctl in a temp folder.

The server runs as a non-root user (PostgreSQL refuses root: when the tests run as root, it
runs as the ``postgres`` system user that Debian's package creates), listens on a free
loopback port only, and takes password logins (scram-sha-256) for the ``invoicedesk`` role,
as a shop's server would. ``.ci/run`` installs Debian's ``postgresql`` package when missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PASSWORD = "team-test-password"


def server_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="invoicedesk-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.root.chmod(0o700)

    def _run(self, *args: str, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, input=input_text, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> PostgresServer:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions",
        )
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.root} -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", opts, "-w", "start")
        self.sql("CREATE ROLE invoicedesk LOGIN PASSWORD 'team-test-password'")
        self.sql("CREATE DATABASE invoicedesk OWNER invoicedesk")
        return self

    def sql(self, statement: str, db: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement as the superuser (over TCP with its password, as an admin would)."""
        import psycopg

        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname={db} password={PASSWORD}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            cur = conn.execute(statement)  # type: ignore[call-overload]
            return list(cur.fetchall()) if cur.description else []

    @property
    def url(self) -> str:
        return f"postgresql://invoicedesk@127.0.0.1:{self.port}/invoicedesk"

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.root} -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", opts, "-w", "start")

    def reset(self) -> None:
        """A fresh, empty team database between tests."""
        self.sql("DROP DATABASE IF EXISTS invoicedesk WITH (FORCE)")
        self.sql("CREATE DATABASE invoicedesk OWNER invoicedesk")

    def close(self) -> None:
        self.stop("immediate")
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)


