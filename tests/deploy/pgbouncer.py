"""Debian's PgBouncer in a process of its own, configured from ``deploy/pgbouncer.ini``."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from fieldsync.simulation.server import ROOT, ChildProcess, free_port

REFERENCE = ROOT / "deploy" / "pgbouncer.ini"


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )


class PgBouncer(ChildProcess):
    """``pgbouncer`` in front of the PostgreSQL of ``database_url``; ``.url(database_url)`` is the same
    database through it (with ``?pgbouncer=transaction`` unless ``flag=False``).

    The reference file as it is, less what only a machine decides: the port, the user list
    (the test PostgreSQL trusts 127.0.0.1, so ``auth_type = trust``), the database line and
    ``default_pool_size`` (small here, so that transactions of many clients share few server
    connections — the case that breaks a driver keeping per-connection state). ``reset=False``
    leaves out ``server_reset_query`` (no ``DISCARD ALL`` after each transaction), to measure it."""

    def __init__(self, binary: str, database_url: str, *, pool_size: int = 3, reset: bool = True) -> None:
        u = make_url(database_url)
        self.port = free_port()
        # PgBouncer refuses to run as root; as root it is told to become nobody, who must read this
        self.dir = Path(tempfile.mkdtemp(prefix="fieldsync-pgbouncer-"))
        self.dir.chmod(0o755)
        (self.dir / "users.txt").write_text(f'"{u.username or "postgres"}" ""\n')
        text = REFERENCE.read_text()
        overrides = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "auth_type": "trust",
            "auth_file": str(self.dir / "users.txt"),
            "default_pool_size": str(pool_size),
        }
        if not reset:
            overrides |= {"server_reset_query": "", "server_reset_query_always": "0"}
        for key, value in overrides.items():
            text, n = re.subn(rf"^{key} = .*$", f"{key} = {value}".rstrip(), text, flags=re.M)
            assert n == 1, f"{key} is not in {REFERENCE}"
        text = re.sub(
            r"^fieldsync = .*$",
            f"* = host={u.host or '127.0.0.1'} port={u.port or 5432}",
            text,
            flags=re.M,
        )
        config = self.dir / "pgbouncer.ini"
        config.write_text(text)
        for path in self.dir.iterdir():
            path.chmod(0o644)
        self.log_path = self.dir / "pgbouncer.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [binary, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(config)]
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("pgbouncer did not start: " + self.log_path.read_text(errors="replace"))

    def url(self, database_url: str, *, flag: bool = True) -> str:
        u = make_url(database_url).set(host="127.0.0.1", port=self.port)
        if flag:
            u = u.update_query_dict({"pgbouncer": "transaction"})
        return u.render_as_string(hide_password=False)

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)
