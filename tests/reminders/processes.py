"""Real processes for the reminder integration tests: uvicorn, celery worker, celery beat.

Each runs in its own session (process group) so that stopping it also stops
its children (the worker's prefork pool), and writes its output to a log file
under test-artifacts/ for when a test fails.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from django.conf import settings

from tests.conftest import ARTIFACTS, REPO

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_tests() -> str:
    """The test database (its name is in settings once pytest-django has set it up)."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Process:
    def __init__(self, name: str, args: list[str], env: dict):
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"reminders-{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115  closed in stop()
        self.popen = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.log_path.name}: no {text!r}:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def terminate(self) -> None:
        self.stopping_since = time.monotonic()
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)

    def stop(self) -> None:
        if not hasattr(self, "stopping_since"):
            self.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self.log.write(f"\n[test] stopped in {time.monotonic() - self.stopping_since:.1f} s\n")
        self.log.close()


def stop_all(processes) -> None:
    """Stop processes in parallel (a worker's warm shutdown takes seconds)."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()


def service_env(**extra) -> dict:
    """Environment of a web/worker/beat process that uses the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMBEDDED_SCHEDULER": "false",
        "LOG_LEVEL": "INFO",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_uvicorn(env: dict) -> tuple[Process, str]:
    """Launch uvicorn; call wait_until_serving(process, url) before using it."""
    port = free_port()
    server = Process(
        "uvicorn",
        [
            str(VENV_BIN / "python"),
            "-m",
            "uvicorn",
            "deploychecks.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "on",
            "--log-level",
            "warning",
        ],
        env,
    )
    return server, f"http://127.0.0.1:{port}"


def wait_until_serving(server: Process, url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            # S310: the URL is http://127.0.0.1, a server these tests started.
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            if server.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start:\n{server.output()[-3000:]}") from None
            time.sleep(0.2)


def start_worker(env: dict, name: str = "worker") -> Process:
    """Launch a celery worker; wait_for_output(WORKER_READY) before relying on it."""
    return Process(
        name,
        [
            str(VENV_BIN / "celery"),
            "-A",
            "deploychecks",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
        ],
        env,
    )


def start_beat(env: dict, schedule_file: Path, name: str = "beat") -> Process:
    """Launch celery beat; wait_for_output(BEAT_READY) before relying on it."""
    return Process(
        name,
        [
            str(VENV_BIN / "celery"),
            "-A",
            "deploychecks",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(schedule_file),
            "--pidfile=",
        ],
        env,
    )


WORKER_READY = " ready."
BEAT_READY = "beat: Starting"
