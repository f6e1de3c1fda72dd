#!/usr/bin/env python3
"""Fault bench (issue 13): PostgreSQL and then Redis die under traffic and come back.

Starts PRIVATE PostgreSQL and Redis instances (bench/private_services.py: a temp
folder, ports 55432 and 56379 by default; the shared 5432/6379 are never
touched), migrates and loads the demo data, and runs the app as docker-compose
does: uvicorn, a Celery worker and beat. Logged-in clients then tick items
(2 engineers, each their own items) and add notes (2 more) in closed loops, a
client that gets no answer or a 5xx tries the same request again 0.2 s later
(same version, same note and idempotency key: what a person clicking again
sends), two websocket viewers behave like static/js/run.js (reconnect with
backoff, resync on every open), and /healthz is polled every 0.25 s.

PostgreSQL is stopped (`pg_ctl -m immediate`: every connection drops, as in a
crash) for --pg-down seconds and started again; later Redis is SIGKILLed for
--redis-down seconds and started again (empty). For each outage it prints:

  requests=         requests sent while the service was down
  within_2s=        of those, answered (any status) within 2 s; max_ms= the slowest
  statuses=         what they were answered
  recovery_s=       from "accepting connections again" to the end of the last failed
                    request (0 when nothing failed after it was back)
  committed_but_error=  requests answered 5xx or not at all whose change is in the
                    database (found by their X-Request-ID in the audit log)
  duplicates=       notes stored more than once (retries of one note)
  healthz_down_s= / healthz_ok_s=  when /healthz first named the outage, and when
                    it was all "ok" again after the service was back
  ws_resynced_s= / live_s=  (Redis) when a viewer that lost its socket had
                    reconnected and resynced, and when live events arrived again

    .venv/bin/python bench/faults.py
    .venv/bin/python bench/faults.py --pg-down 4 --redis-down 3 --keep

Talks to 127.0.0.1 only, stops everything it started, and saves its output
under bench/results/.
"""

import argparse
import asyncio
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchenv  # noqa: E402
from fanout import DEPLOYED_UVICORN_ARGS, HOST, RESULTS, Out, Servers  # noqa: E402
from private_services import PrivatePostgres, PrivateRedis  # noqa: E402

DATABASE = "deploychecks_faults"
VERSION_RE = re.compile(r'data-version="(\d+)"')
STATE_RE = re.compile(r'class="run-item state-(\w+)"')
NOTE_PREFIX = "faults-note-"
RETRY_PAUSE = 0.2  # a person clicking again
THINK = 0.05  # between two changes of one client


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg-port", type=int, default=55432)
    p.add_argument("--redis-port", type=int, default=56379)
    p.add_argument("--port", type=int, default=8901, help="uvicorn's port")
    p.add_argument("--pg-down", type=float, default=3.5, help="seconds PostgreSQL is down")
    p.add_argument("--redis-down", type=float, default=3.0, help="seconds Redis is down")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--settle", type=float, default=8.0, help="traffic after each outage (s)")
    p.add_argument("--keep", action="store_true", help="keep the temp folder (logs, data)")
    return p.parse_args()


@dataclass
class Attempt:
    kind: str  # tick | note
    rid: str  # its X-Request-ID
    t0: float
    t1: float = 0.0
    status: int = 0  # 0: no answer (timeout, refused)
    body: str = ""  # the note's text


@dataclass
class Log:
    attempts: list[Attempt] = field(default_factory=list)
    health: list[tuple[float, int, dict]] = field(default_factory=list)
    ws_closes: list[float] = field(default_factory=list)
    ws_resyncs: list[float] = field(default_factory=list)
    ws_events: list[float] = field(default_factory=list)


# --- Set-up -----------------------------------------------------------------------------


def prepare_data() -> dict:
    benchenv.setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connections

    from deploychecks.runs.models import RunItem

    User = get_user_model()
    deployment = benchenv.demo_deployment()
    items = list(
        RunItem.objects.filter(deployment=deployment, phase__is_rollback=False)
        .exclude(state="na")
        .order_by("phase__position", "position")
        .values_list("pk", "state", "version")[:10]
    )
    engineers = [User.objects.get(username=n) for n in ("engineer", "engineer2")]
    sessions = [benchenv.session_for(e) for e in engineers]
    data = {
        "deployment": deployment.pk,
        "tickers": [(sessions[0], items[0:4]), (sessions[1], items[4:8])],
        "writers": [(sessions[0], items[8][0]), (sessions[1], items[9][0])],
        "viewers": [benchenv.session_for(User.objects.get(username="lead")) for _ in range(2)],
    }
    connections.close_all()
    return data


def start_celery(tmp: Path) -> list[subprocess.Popen]:
    """A worker and beat as docker-compose runs them (one worker process here)."""
    procs = []
    for name, args in (
        ("worker", ["worker", "--loglevel=WARNING", "--concurrency=1"]),
        ("beat", ["beat", "--loglevel=WARNING", f"--schedule={tmp / 'celerybeat-schedule'}"]),
    ):
        log = (tmp / f"celery-{name}.log").open("w")
        procs.append(
            subprocess.Popen(
                [benchenv.PYTHON, "-m", "celery", "-A", "deploychecks", *args],
                cwd=benchenv.ROOT,
                env=benchenv.child_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


# --- Clients ----------------------------------------------------------------------------


def client(base: str, session: str, page: str):
    import httpx

    csrf = secrets.token_hex(16)
    return httpx.AsyncClient(
        base_url=base,
        cookies={"sessionid": session, "csrftoken": csrf},
        headers={"X-CSRFToken": csrf, "Referer": base + page, "Origin": base, "HX-Request": "true"},
        timeout=15,
    )


async def post(http, log: Log, kind: str, url: str, data: dict, body: str = ""):
    attempt = Attempt(kind, f"faults-{uuid.uuid4().hex}", time.monotonic(), body=body)
    log.attempts.append(attempt)
    try:
        response = await http.post(url, data=data, headers={"X-Request-ID": attempt.rid})
        attempt.status = response.status_code
        return response
    except Exception:  # noqa: BLE001  no answer: counted as such
        return None
    finally:
        attempt.t1 = time.monotonic()


async def ticker(base, deployment, session, items, log: Log, stop: asyncio.Event):
    """Ticks its own items in turn; a failed tick is sent again as it was."""
    page = f"/deployments/{deployment}/"
    state = {pk: (s, v) for pk, s, v in items}
    async with client(base, session, page) as http:
        while not stop.is_set():
            for pk, (current, version) in list(state.items()):
                target = "open" if current == "done" else "done"
                while not stop.is_set():
                    data = {"state": target, "version": str(version)}
                    r = await post(http, log, "tick", f"{page}items/{pk}/state/", data)
                    if r is not None and r.status_code in (200, 409):
                        state[pk] = (STATE_RE.search(r.text)[1], int(VERSION_RE.search(r.text)[1]))
                        break
                    await asyncio.sleep(RETRY_PAUSE)
                await asyncio.sleep(THINK)


async def writer(base, deployment, session, item, log: Log, stop: asyncio.Event):
    """Adds notes; a failed one is sent again with the same text and key."""
    page = f"/deployments/{deployment}/"
    async with client(base, session, page) as http:
        while not stop.is_set():
            body = f"{NOTE_PREFIX}{uuid.uuid4().hex}"
            data = {"body": body, "kind": "note", "idempotency_key": uuid.uuid4().hex}
            while not stop.is_set():
                r = await post(http, log, "note", f"{page}items/{item}/notes/", data, body)
                if r is not None and r.status_code == 200:
                    break
                await asyncio.sleep(RETRY_PAUSE)
            await asyncio.sleep(THINK)


async def viewer(base, deployment, session, log: Log, stop: asyncio.Event):
    """A run page: reconnects with run.js's backoff and resyncs on every open."""
    from websockets.asyncio.client import connect

    page = f"/deployments/{deployment}/"
    url = base.replace("http://", "ws://") + f"/ws{page}"
    retry = 0
    async with client(base, session, page) as http:

        async def resync():
            while not stop.is_set():
                try:
                    if (await http.get(f"{page}checklist/")).status_code == 200:
                        log.ws_resyncs.append(time.monotonic())
                        return
                except Exception:  # noqa: BLE001,S110  run.js retries every 2 s
                    pass
                await asyncio.sleep(2)

        while not stop.is_set():
            try:
                async with connect(
                    url,
                    origin=base,
                    additional_headers={"Cookie": f"sessionid={session}"},
                    ping_interval=None,
                    open_timeout=5,
                ) as ws:
                    retry = 0
                    task = asyncio.create_task(resync())
                    async for text in ws:
                        if json.loads(text).get("type") == "event":
                            log.ws_events.append(time.monotonic())
                    task.cancel()
            except Exception:  # noqa: BLE001,S110  refused or dropped: reconnect below
                pass
            if stop.is_set():
                return
            log.ws_closes.append(time.monotonic())
            retry += 1
            await asyncio.sleep(min(2 ** (retry - 1), 15))


async def poll_health(base, log: Log, stop: asyncio.Event):
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = await http.get("/healthz")
                log.health.append((t0, r.status_code, r.json().get("checks", {})))
            except Exception:  # noqa: BLE001
                log.health.append((t0, 0, {}))
            await asyncio.sleep(0.25)


# --- The run ------------------------------------------------------------------------------


async def drive(args, data, pg: PrivatePostgres, redis: PrivateRedis, log: Log) -> dict:
    base = f"http://{HOST}:{args.port}"
    dep = data["deployment"]
    stop = asyncio.Event()
    tasks = [
        *(asyncio.create_task(ticker(base, dep, s, i, log, stop)) for s, i in data["tickers"]),
        *(asyncio.create_task(writer(base, dep, s, i, log, stop)) for s, i in data["writers"]),
        *(asyncio.create_task(viewer(base, dep, s, log, stop)) for s in data["viewers"]),
        asyncio.create_task(poll_health(base, log, stop)),
    ]
    marks = {}
    await asyncio.sleep(args.warmup)

    marks["postgres_down"] = time.monotonic()
    await asyncio.to_thread(pg.stop, "immediate")
    await asyncio.sleep(max(0.0, args.pg_down - (time.monotonic() - marks["postgres_down"])))
    await asyncio.to_thread(pg.start)  # returns once it accepts connections
    marks["postgres_back"] = time.monotonic()
    await asyncio.sleep(args.settle)

    marks["redis_down"] = time.monotonic()
    redis.kill()
    await asyncio.sleep(args.redis_down)
    await asyncio.to_thread(redis.start)  # returns once it answers PING
    marks["redis_back"] = time.monotonic()
    await asyncio.sleep(args.settle)

    marks["end"] = time.monotonic()
    stop.set()
    await asyncio.wait(tasks, timeout=20)
    return marks


def committed_request_ids(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT request_id FROM audit_auditevent WHERE request_id LIKE 'faults-%%'"
        ).fetchall()
    return {r[0] for r in rows}


def stored_notes(url: str) -> Counter:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT body, count(*) FROM runs_itemnote WHERE body LIKE %s GROUP BY body",
            [NOTE_PREFIX + "%"],
        ).fetchall()
    return Counter(dict(rows))


def report(out: Out, name: str, log: Log, window, back: float, committed: set, notes: Counter):
    start, end = window
    during = [a for a in log.attempts if start <= a.t0 < back]
    latencies = [a.t1 - a.t0 for a in during]
    phase = [a for a in log.attempts if start <= a.t0 < end]
    failed = [a for a in phase if not 200 <= a.status < 300 and a.status != 409]
    last_failure = max((a.t1 for a in failed), default=back)
    bodies = {a.body for a in phase if a.kind == "note"}
    statuses = Counter(a.status for a in during)
    health_down = next(
        (t - start for t, status, _ in log.health if start <= t < back and status != 200), None
    )
    health_ok = next(
        (t - back for t, status, _ in log.health if back <= t < end and status == 200), None
    )
    fields = {
        "outage": name,
        "down_s": f"{back - start:.1f}",
        "requests": len(during),
        "within_2s": sum(1 for x in latencies if x <= 2.0),
        "max_ms": f"{max(latencies, default=0) * 1000:.0f}",
        "statuses": ",".join(f"{k or 'none'}:{v}" for k, v in sorted(statuses.items())),
        "recovery_s": f"{max(0.0, last_failure - back):.2f}",
        "failed_after_back": sum(1 for a in failed if a.t0 >= back),
        "committed_but_error": sum(1 for a in failed if a.rid in committed),
        "duplicates": sum(notes[b] - 1 for b in bodies if notes[b] > 1),
        "requests_in_phase": len(phase),
        "healthz_down_s": "never" if health_down is None else f"{health_down:.2f}",
        "healthz_ok_s": "never" if health_ok is None else f"{health_ok:.2f}",
    }
    if name == "redis":
        closed = [t for t in log.ws_closes if start <= t < end]
        resynced = [t for t in log.ws_resyncs if t >= back]
        live = [t for t in log.ws_events if t >= back]
        fields["ws_closed"] = len(closed)
        fields["ws_resynced_s"] = f"{resynced[0] - back:.2f}" if closed and resynced else "n/a"
        fields["live_s"] = f"{live[0] - back:.2f}" if live else "never"
    out.line(" ".join(f"{k}={v}" for k, v in fields.items()))


def main():
    args = parse_args()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Out(RESULTS / f"faults-{stamp}.txt")
    tmp = Path(tempfile.mkdtemp(prefix="deploychecks-faults-"))
    pg, redis = PrivatePostgres(args.pg_port, tmp), PrivateRedis(args.redis_port, tmp)
    servers, celery = None, []
    started = time.monotonic()
    try:
        pg.init()
        pg.start()
        redis.start()
        benchenv.PG_ADMIN_URL = pg.url("postgres")
        benchenv.ENV.update(
            {
                "DATABASE_URL": pg.url(DATABASE),
                "REDIS_URL": redis.url,
                "AUDIT_WITNESS_PATH": str(tmp / "audit-witness.jsonl"),
                "REMINDER_DISPATCH_SECONDS": "2",
                "LOG_LEVEL": "WARNING",
            }
        )
        benchenv.prepare()
        data = prepare_data()
        servers = Servers(1, args.port, DEPLOYED_UVICORN_ARGS, log_dir=tmp)
        servers.start()
        celery = start_celery(tmp)
        servers.wait_ready()
        setup_s = time.monotonic() - started
        log = Log()
        marks = asyncio.run(drive(args, data, pg, redis, log))
        committed = committed_request_ids(pg.url(DATABASE))
        notes = stored_notes(pg.url(DATABASE))
        out.line(
            f"# bench/faults.py {stamp} machine={benchenv.machine()} "
            f"pg_down={args.pg_down} redis_down={args.redis_down} setup_s={setup_s:.0f}"
        )
        report(
            out,
            "postgres",
            log,
            (marks["postgres_down"], marks["redis_down"]),
            marks["postgres_back"],
            committed,
            notes,
        )
        report(
            out,
            "redis",
            log,
            (marks["redis_down"], marks["end"]),
            marks["redis_back"],
            committed,
            notes,
        )
        alive = [p.poll() is None for p in celery]
        total_s = time.monotonic() - started
        out.line(
            f"total_requests={len(log.attempts)} celery_alive={','.join(map(str, alive))} "
            f"server_log_errors={len(servers.log_errors())} total_s={total_s:.0f}"
        )
    finally:
        if servers is not None:
            servers.stop()
        for proc in celery:
            proc.terminate()
        for proc in celery:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.kill()
        if pg.running():
            pg.stop("fast")
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
