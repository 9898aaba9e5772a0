"""A real fieldsync server in its own process on 127.0.0.1, for the simulator, its test and bench/.

``uvicorn --factory fieldsync.wiring:app_factory`` on a free port, configured by environment
variables like any deployment; it is ready when ``/health/live`` answers. Memory figures come
from ``/proc``: ``peak_rss_mib`` is the kernel's high-water mark (``VmHWM``), so no sampling
can miss a short peak.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

import httpx

from backend.config import env_name

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "local-process-secret-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, var_dir: Path, **settings: Any) -> dict[str, str]:
    """The environment of a local server: no in-process worker, no request or push rate limits."""
    env = dict(os.environ)
    env.update(
        {
            "FIELDSYNC_DATABASE_URL": database_url,
            "FIELDSYNC_VAR_DIR": str(var_dir),
            "FIELDSYNC_SECRET_KEY": SECRET,
            "FIELDSYNC_RUN_WORKER_IN_PROCESS": "false",
            "FIELDSYNC_REQUESTS_PER_MINUTE": "100000000",
            "FIELDSYNC_SYNC_MUTATIONS_PER_MINUTE": "0",
            "FIELDSYNC_DRAIN_DELAY_S": "0",  # no load balancer to wait for
            "FIELDSYNC_LOG_LEVEL": "WARNING",
        }
    )
    # each setting's own variable (GOOGLE_APPLICATION_CREDENTIALS has no FIELDSYNC_ prefix)
    env.update({env_name(k): str(v) for k, v in settings.items()})
    return env


class ChildProcess:
    """A fieldsync process of a test or a benchmark: its log, ``kill -9`` and a clean stop."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: Any

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(ValueError):  # closed once stopped
            self._log.flush()
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def kill(self) -> None:
        """``kill -9``: no drain, no clean-up (what a crash or the OOM killer does)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def stop(self) -> None:
        """SIGTERM (the process drains), then ``kill -9`` after 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerProcess(ChildProcess):
    """Start with ``ServerProcess(url, workdir)``; ``.url`` is its base URL; ``.stop()`` ends it."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        ready_timeout: float = 60.0,
        port: int | None = None,
        **settings: Any,
    ):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()  # a fixed port: restarted behind a load balancer
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "fieldsync.wiring:app_factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--ws",
                "websockets-sansio",  # "websockets" (the legacy implementation) is deprecated
                "--timeout-graceful-shutdown",
                str(max(1, round(float(settings.get("drain_timeout_s", 20))))),
            ],
            cwd=ROOT,
            env=server_env(database_url, workdir / "var", **settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready(ready_timeout)
        except Exception:
            self.stop()
            raise
        self.baseline_rss_mib = self.rss_mib()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health/live", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout}s: {self.log_tail()}")

    def _status_kib(self, key: str) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def rss_mib(self) -> float:
        return self._status_kib("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        return self._status_kib("VmHWM") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the server has used so far."""
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return 0.0


class WorkerProcess(ChildProcess):
    """``fieldsync worker`` in its own process (the job scheduler alone), configured like a server."""

    def __init__(self, database_url: str, workdir: Path, **settings: Any):
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"worker-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fieldsync", "worker"],
            cwd=ROOT,
            env=server_env(database_url, workdir / "var", **settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
