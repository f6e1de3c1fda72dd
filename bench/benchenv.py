"""Shared set-up of the bench scripts: their own PostgreSQL database and Redis db.

Everything talks to 127.0.0.1 only. The bench database is created if missing,
migrated and loaded with the demo data, so a fresh clone can run the scripts.
The history pages (bench/pages.py --history) use a second one,
`deploychecks_bench_history`, which also holds 10,000 deployments made once by
`manage.py seed_history` (`prepare_history`).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "deploychecks_bench"
HISTORY_DB = "deploychecks_bench_history"
HISTORY_DEPLOYMENTS = 10_000
HISTORY_SEED = 2026

ENV = {
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
    # Redis db 2: the tests use db 1, so a bench never disturbs them. The
    # benches flush it: on a shared machine give each person's runs their own
    # (BENCH_REDIS_URL), or two benches hear each other's broadcasts.
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"),
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    "AUDIT_HMAC_KEY": "bench-audit-hmac-key-not-for-production-0123456789",
    "DJANGO_SETTINGS_MODULE": "deploychecks.settings",
    "ALLOWED_HOSTS": "127.0.0.1",
    "DEBUG": "false",
    "EMBEDDED_SCHEDULER": "false",
    "LOG_LEVEL": "WARNING",
}


def child_env() -> dict:
    env = dict(os.environ)
    env.update(ENV)
    return env


def use_database(name: str) -> None:
    """Point this process and its children at another bench database."""
    ENV["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"


def database_name() -> str:
    return ENV["DATABASE_URL"].rsplit("/", 1)[1]


def ensure_database(fresh: bool = False) -> None:
    import psycopg

    name = database_name()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(quiet: bool = True, fresh: bool = False) -> None:
    """Create, migrate and load the bench database (idempotent).

    fresh=True drops it first: after a migration was edited, or to measure
    from the demo data alone.
    """
    ensure_database(fresh)
    out = subprocess.DEVNULL if quiet else None
    for args in (["migrate", "--no-input"], ["load_demo"]):
        manage(*args, stdout=out)


def prepare_history(deployments: int = HISTORY_DEPLOYMENTS, fresh: bool = False) -> None:
    """The history bench database: the demo data and `deployments` seeded deployments.

    Seeds only the deployments still missing (the audit log cannot be
    emptied: to reseed from scratch, pass fresh=True). The first time takes
    minutes; the progress bar goes to stderr.
    """
    use_database(HISTORY_DB)
    prepare(fresh=fresh)
    import psycopg

    with psycopg.connect(ENV["DATABASE_URL"]) as conn:
        # Every deployment but load_demo's one was seeded.
        have = conn.execute("SELECT count(*) - 1 FROM runs_deployment").fetchone()[0]
    if have < deployments:
        manage(
            "seed_history", f"--deployments={deployments - have}", f"--seed={HISTORY_SEED + have}"
        )


def manage(*args, stdout=None) -> None:
    subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=child_env(),
        check=True,
        stdout=stdout,
    )


def setup_django() -> None:
    """Point this process at the bench database and start Django."""
    os.environ.update(ENV)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def demo_deployment():
    from deploychecks.runs.models import Deployment

    return Deployment.objects.get(release_name="Spring release", version="2.0.0")


def session_for(user, days: int = 1) -> str:
    """A logged-in session key for `user`, created directly (no HTTP login)."""
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store.update(_session_data(user))
    store.set_expiry(days * 86400)
    store.create()
    return store.session_key


def _session_data(user) -> dict:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    return {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
        # What a real login stamps (deploychecks.accounts.sessions.LOGIN_AT_KEY).
        "_login_at": int(time.time()),
    }


def bulk_sessions(users, days: int = 1) -> list[str]:
    """One session per user in a single INSERT; returns the keys in user order."""
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    store = SessionStore()
    expire = timezone.now() + timedelta(days=days)
    chars = "abcdefghijklmnopqrstuvwxyz0123456789"
    rows = [
        Session(
            session_key=get_random_string(32, chars),
            session_data=store.encode(_session_data(user)),
            expire_date=expire,
        )
        for user in users
    ]
    Session.objects.bulk_create(rows)
    return [row.session_key for row in rows]


def machine() -> dict:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = f"{int(line.split()[1]) / 1024 / 1024:.1f}"
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "mem_gb": mem_gb,
        "cpu": model,
        "calib_ms": f"{calibrate():.0f}",
    }


def calibrate() -> float:
    """CPU ms for a fixed pure-Python loop (best of 3): compares this machine's
    speed, and how much its neighbours slow it down, between runs."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, (time.process_time() - start) * 1000)
    return best
