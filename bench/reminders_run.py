"""A compressed-time run of the whole default reminder schedule, on the real stack.

    .venv/bin/python bench/reminders_run.py                  # 72 h of schedule in 3 minutes
    .venv/bin/python bench/reminders_run.py --downtime 140-250   # worker and beat down 2h20-4h10

It creates a fresh database (`deploychecks_reminders_run` on 127.0.0.1), loads
the demo data, starts uvicorn, one celery worker and celery beat on Redis db 7
with REMINDER_TIME_SCALE compressing the schedule, opens the demo deployment's
websocket as its lead, takes the deployment live and waits for the last
reminder. `--downtime A-B` stops the worker and beat from minute A to minute B
of the schedule, as if everything were down, to show the catch-up. It prints,
for every reminder: its offset in the schedule, when it was due, when the
dispatcher released it, when the toast reached the websocket, how late that
was (in real seconds and in schedule minutes), its status and its deliveries.
"""

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DB_NAME = "deploychecks_reminders_run"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/7"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1440.0,
        help="REMINDER_TIME_SCALE (1440: a day of schedule per minute)",
    )
    parser.add_argument(
        "--dispatch",
        type=float,
        default=0.25,
        help="REMINDER_DISPATCH_SECONDS: the beat interval, in real seconds",
    )
    parser.add_argument(
        "--downtime", default="", help="A-B: worker and beat are down from schedule minute A to B"
    )
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    return parser.parse_args()


ARGS = parse_args()
ENV = {
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
    "AUDIT_HMAC_KEY": os.environ.get("AUDIT_HMAC_KEY") or secrets.token_urlsafe(40),
    "ALLOWED_HOSTS": "127.0.0.1",
    "EMBEDDED_SCHEDULER": "false",
    "REMINDER_TIME_SCALE": str(ARGS.scale),
    "REMINDER_DISPATCH_SECONDS": str(ARGS.dispatch),
    # The schedule is the subject here; escalation has tests of its own.
    "REMINDER_ESCALATE_MINUTES": "0",
    "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
    "EMAIL_FILE_PATH": tempfile.mkdtemp(prefix="reminders-run-mail-"),
    "SITE_URL": "http://127.0.0.1",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "deploychecks.settings",
}
os.environ.update(ENV)
sys.path.insert(0, str(ROOT))


def fresh_database():
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


class Service:
    def __init__(self, name, args, logdir):
        self.name = name
        self.log = open(Path(logdir) / f"{name}.log", "w")  # noqa: SIM115
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while text not in Path(self.log.name).read_text(errors="replace"):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start; see {self.log.name}")
            time.sleep(0.1)

    def stop(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def celery(logdir, n):
    worker = Service(
        f"worker-{n}",
        [
            str(BIN / "celery"),
            "-A",
            "deploychecks",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"run{n}-{os.getpid()}@%h",
        ],
        logdir,
    )
    beat = Service(
        f"beat-{n}",
        [
            str(BIN / "celery"),
            "-A",
            "deploychecks",
            "beat",
            "--loglevel=INFO",
            "--pidfile=",
            "--schedule",
            str(Path(logdir) / f"beat-{n}"),
        ],
        logdir,
    )
    worker.wait_for(" ready.")
    beat.wait_for("beat: Starting")
    return [worker, beat]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def observe_toasts(url, cookie, arrivals, stop):
    from websockets.sync.client import connect

    with connect(
        url.replace("http://", "ws://") + f"/ws/deployments/{DEPLOYMENT_ID}/",
        origin=url,
        additional_headers={"Cookie": cookie},
    ) as ws:
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            if message["type"] == "toast":
                arrivals.setdefault(message["reminder_id"], time.time())


def session_cookie(user):
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def schedule_time(minutes):
    return f"+{int(minutes) // 60:>2d}h{int(minutes) % 60:02d}"


def main():
    global DEPLOYMENT_ID
    started = time.time()
    print(f"Preparing database {DB_NAME} (migrate, demo data)…", file=sys.stderr)
    fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model
    from django.db.models import F

    from deploychecks.reminders.models import Reminder
    from deploychecks.runs.models import Deployment, RunItem
    from deploychecks.runs.services import change_status

    lead = get_user_model().objects.get(username="lead")
    deployment = Deployment.objects.get(release_name="Spring release")
    DEPLOYMENT_ID = deployment.pk
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)

    logdir = tempfile.mkdtemp(prefix="reminders-run-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    web = Service(
        "uvicorn",
        [
            str(BIN / "python"),
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
        logdir,
    )
    services = celery(logdir, 1)
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2).close()  # noqa: S310  our server
            break
        except OSError:
            time.sleep(0.2)
    arrivals, stop = {}, threading.Event()
    observer = threading.Thread(
        target=observe_toasts, args=(url, session_cookie(lead), arrivals, stop), daemon=True
    )
    observer.start()
    time.sleep(1)

    # Past the go-live gate, as set-up: the pre-go-live items done and the
    # template's placeholder contacts filled in (tests/gates.py does the same).
    RunItem.objects.filter(
        deployment=deployment, phase__stage="before", state=RunItem.State.OPEN
    ).update(state=RunItem.State.DONE, version=F("version") + 1)
    deployment.contacts.filter(filled_in=False).update(
        person="On call", phone="+1 555 0100", handle="@on-call", filled_in=True
    )
    change_status(deployment_id=deployment.pk, to="monitoring", user=lead)
    deployment.refresh_from_db()
    go_live = deployment.go_live_at
    last_due = Reminder.objects.filter(deployment=deployment).order_by("-due_at").first().due_at
    print(
        f"Live at {go_live:%H:%M:%S}; the last reminder is due at {last_due:%H:%M:%S} "
        f"({(last_due - go_live).total_seconds():.0f} s of real time).",
        file=sys.stderr,
    )

    downtime = None
    if ARGS.downtime:
        down_from, down_to = (float(x) for x in ARGS.downtime.split("-"))
        downtime = (down_from, down_to)
        time.sleep(max(0.0, down_from * 60 / ARGS.scale - _since(go_live)))
        print(f"Stopping worker and beat at schedule {schedule_time(down_from)}…", file=sys.stderr)
        for service in services:
            service.stop()
        time.sleep(max(0.0, down_to * 60 / ARGS.scale - _since(go_live)))
        print(f"Starting them again at schedule {schedule_time(down_to)}…", file=sys.stderr)
        services = celery(logdir, 2)
        downtime = (down_from, down_to, _since(go_live) * ARGS.scale / 60)

    deadline = time.monotonic() + (last_due - go_live).total_seconds() + 60
    while time.monotonic() < deadline:
        busy = (
            Reminder.objects.filter(deployment=deployment, status="pending").exists()
            or Reminder.objects.filter(
                deployment=deployment, deliveries__status__in=["pending", "sending"]
            ).exists()
        )
        if not busy:
            break
        time.sleep(0.5)
    time.sleep(1)
    stop.set()
    observer.join(timeout=5)
    for service in [*services, web]:
        service.stop()
    report = render(deployment, go_live, arrivals, downtime, time.time() - started)
    print(report)
    if ARGS.output:
        ARGS.output.write_text(report)


def _since(moment):
    from django.utils import timezone

    return (timezone.now() - moment).total_seconds()


def render(deployment, go_live, arrivals, downtime, elapsed):
    import platform

    from deploychecks.reminders.models import Reminder, ReminderDelivery

    scale = ARGS.scale
    # The file backend appends to one file per connection name; count messages.
    emails = sum(
        1
        for path in Path(ENV["EMAIL_FILE_PATH"]).glob("*.log")
        for chunk in path.read_bytes().split(b"-" * 79)
        if chunk.strip()
    )
    lines = [
        "Compressed-time run of the default reminder schedule (bench/reminders_run.py)",
        f"REMINDER_TIME_SCALE={scale:g} (1 schedule minute = {60 / scale * 1000:.1f} ms), "
        f"beat every {ARGS.dispatch:g} s, one celery worker (concurrency 2), Redis, "
        f"PostgreSQL, uvicorn; {platform.node()}, {os.cpu_count()} CPUs.",
        f"Downtime: worker and beat stopped at {schedule_time(downtime[0])} of the schedule, "
        f"started again at {schedule_time(downtime[1])}, ready (first dispatch possible) at "
        f"{schedule_time(downtime[2])}."
        if downtime
        else "Downtime: none.",
        "Times are seconds of real time after go-live; 'late' is toast arrival minus due,",
        "also shown in schedule minutes (late x scale).",
        "",
        f"{'schedule':<9} {'reminder':<44} {'due s':>7} {'sent s':>7} {'toast s':>7} "
        f"{'late ms':>8} {'sched min':>9}  {'status':<9} deliveries",
    ]
    reminders = list(Reminder.objects.filter(deployment=deployment).order_by("due_at", "pk"))
    worst = timedelta(0)
    for r in reminders:
        due = (r.due_at - go_live).total_seconds()
        sent = (r.sent_at - go_live).total_seconds() if r.sent_at else None
        toast = arrivals.get(r.pk)
        toast_s = toast - go_live.timestamp() if toast else None
        late = (toast - r.due_at.timestamp()) if toast else None
        if late is not None:
            worst = max(worst, timedelta(seconds=late))
        deliveries = ", ".join(
            f"{d.channel}:{d.status}" + (f"x{d.attempts}" if d.attempts != 1 else "")
            for d in ReminderDelivery.objects.filter(reminder=r).order_by("channel")
        )
        lines.append(
            f"{schedule_time(r.offset_minutes):<9} {r.title[:44]:<44} {due:>7.2f} "
            f"{_fmt(sent):>7} {_fmt(toast_s):>7} {_fmt(late and late * 1000, 0):>8} "
            f"{_fmt(late and late * scale / 60, 1):>9}  {r.status:<9} {deliveries}"
        )
    sent = [r for r in reminders if r.status in ("sent", "late")]
    missed = [r for r in reminders if r.status == "missed"]
    attempts = list(
        ReminderDelivery.objects.filter(reminder__deployment=deployment).values_list(
            "attempts", flat=True
        )
    )
    lines += [
        "",
        f"{len(reminders)} reminders: {len(sent)} sent ({sum(r.status == 'late' for r in sent)} "
        f"late), {len(missed)} missed (superseded by a later occurrence), "
        f"{sum(r.status == 'pending' for r in reminders)} still pending.",
        f"Toasts received on the websocket: {len(arrivals)} (distinct reminders); "
        f"emails written: {emails}; deliveries with more than one attempt: "
        f"{sum(a > 1 for a in attempts)}.",
        f"Worst toast lateness: {worst.total_seconds() * 1000:.0f} ms real = "
        f"{worst.total_seconds() * scale / 60:.1f} schedule minutes. Whole run: {elapsed:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def _fmt(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
