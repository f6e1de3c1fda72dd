"""PostgreSQL and Redis instances of a bench's own, which it may kill and restart.

bench/faults.py stops these to see what the app does meanwhile. They run from a
temporary folder on ports of their own; the shared instances on 5432 and 6379
are refused outright, so a typo cannot take down everyone's database. PostgreSQL
comes from Debian's binaries (/usr/lib/postgresql/<version>/bin); as root, its
commands run as the `postgres` user (initdb refuses root).
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SHARED_PORTS = {5432, 6379}


def _refuse_shared(port: int) -> None:
    if port in SHARED_PORTS:
        raise SystemExit(f"port {port} belongs to the shared services: choose another")


def _postgres_bin() -> Path:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise SystemExit("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    return versions[-1].parent


class PrivatePostgres:
    """A throwaway cluster: trust auth, fsync off, listening on 127.0.0.1:`port` only."""

    def __init__(self, port: int, root: Path):
        _refuse_shared(port)
        self.port = port
        self.bin = _postgres_bin()
        self.dir = root / "postgres"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.run_as = []
        if os.geteuid() == 0:
            root.chmod(0o711)  # mkdtemp makes it 0700: postgres must get through
            shutil.chown(self.dir, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.run_as, *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start and return once it accepts connections (pg_ctl -w)."""
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            # No fsync (speed), but every commit is written before it is
            # acknowledged: a killed server loses nothing a client saw committed.
            "-c fsync=off"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as clients can tell: every connection drops."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def accepting(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False


class PrivateRedis:
    """redis-server on 127.0.0.1:`port`, no persistence (a restart starts empty,
    like the worst case of a real one)."""

    def __init__(self, port: int, root: Path):
        _refuse_shared(port)
        self.port = port
        self.dir = root / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"redis-server on {self.port} did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: connections drop at once, nothing is saved."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def accepting(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False
