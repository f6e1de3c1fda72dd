#!/usr/bin/env python3
"""Throughput benchmark: many deployments ticked at once, through the real HTTP endpoint.

N deployments (default 50), each with K tickers (default 2, the demo engineers,
each ticking their own items in a closed loop: the next tick when the last one
answered) and V websocket viewers (default 10), against uvicorn on the bench
PostgreSQL database (its own: deploychecks_bench_throughput) and Redis db 2.
Runs once per web-process count in --workers (default "1,2": one process,
then two, tickers and viewers spread over them as a load balancer would).

Reports ticks/s, tick p50/p95 (client round trip and the server's own time),
HTTP errors, deadlocks (PostgreSQL's counter for the database, and the
servers' logs) and the audit chain's lock wait, sampled from pg_stat_activity
every 10 ms: how often a backend waited for the chain's advisory lock (or a
row lock), and the wait per tick that implies (Little's law: mean waiters x
duration / ticks).

    .venv/bin/python bench/throughput.py
    .venv/bin/python bench/throughput.py --deployments 50 --seconds 60 --workers 1,2

Talks to 127.0.0.1 only, stops its servers itself, saves its output under
bench/results/.
"""

import argparse
import asyncio
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchenv  # noqa: E402
from fanout import HOST, RESULTS, Out, Servers, fmt, pct  # noqa: E402

DATABASE = "deploychecks_bench_throughput"
RELEASE_PREFIX = "bench-throughput-"
VIEWER_PREFIX = "bench-tp-viewer-"
VERSION_RE = re.compile(r'data-version="(\d+)"')
TIMING_RE = re.compile(r"app;dur=([\d.]+)")
CHAIN_LOCK_KEY = 0x6175646974  # audit.services.CHAIN_LOCK_KEY


def fmt_share(part: int, whole: int) -> str:
    return f"{part / max(1, whole):.3f}"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--deployments", type=int, default=50)
    p.add_argument("--tickers", type=int, default=2, help="per deployment (at most 2)")
    p.add_argument("--viewers", type=int, default=10, help="per deployment")
    p.add_argument("--seconds", type=float, default=30.0, help="ticking time per run")
    p.add_argument("--warmup", type=float, default=3.0, help="untimed ticking first (s)")
    p.add_argument("--workers", default="1,2", help="web processes, one run per entry")
    p.add_argument("--port", type=int, default=8865, help="first port")
    p.add_argument("--fresh-db", action="store_true", help="drop and recreate its database")
    p.add_argument("--max-seconds", type=int, default=900)
    return p.parse_args()


# --- Data (Django ORM in this process) ---------------------------------------------------


def prepare_data(args) -> dict:
    benchenv.use_database(DATABASE)
    benchenv.prepare(fresh=args.fresh_db)
    benchenv.setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connections

    from deploychecks.runs.models import Deployment, Participant, RunItem
    from deploychecks.runs.services import create_deployment

    User = get_user_model()
    lead = User.objects.get(username="lead")
    engineers = [User.objects.get(username=n) for n in ("engineer", "engineer2")][: args.tickers]
    revision = benchenv.demo_deployment().revision
    have = Deployment.objects.filter(release_name__startswith=RELEASE_PREFIX).count()
    for n in range(have, args.deployments):
        create_deployment(
            revision,
            user=lead,
            release_name=f"{RELEASE_PREFIX}{n:03d}",
            version="9.0.0",
            service=f"bench-service-{n:03d}",
            lead=lead,
            engineers=engineers,
        )
    deployments = list(
        Deployment.objects.filter(release_name__startswith=RELEASE_PREFIX).order_by("pk")[
            : args.deployments
        ]
    )
    names = [f"{VIEWER_PREFIX}{i:05d}" for i in range(args.deployments * args.viewers)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    password = make_password("bench-" + secrets.token_hex(8))
    User.objects.bulk_create(
        [User(username=n, password=password) for n in names if n not in existing]
    )
    viewers = list(User.objects.filter(username__in=names).order_by("username"))
    Participant.objects.bulk_create(
        [
            Participant(deployment=d, user=u, role="viewer")
            for i, d in enumerate(deployments)
            for u in viewers[i * args.viewers : (i + 1) * args.viewers]
        ],
        ignore_conflicts=True,
    )
    plan = []
    for i, deployment in enumerate(deployments):
        items = list(
            RunItem.objects.filter(deployment=deployment, phase__is_rollback=False)
            .exclude(state="na")
            .order_by("phase__position", "position")
            .values_list("pk", "state", "version")[: 4 * args.tickers]
        )
        plan.append(
            {
                "deployment": deployment.pk,
                # Ticker k owns items k, k+K, k+2K…: no tick is ever stale.
                "tickers": [items[k :: args.tickers] for k in range(args.tickers)],
                "viewer_sessions": benchenv.bulk_sessions(
                    viewers[i * args.viewers : (i + 1) * args.viewers]
                ),
            }
        )
    data = {
        "plan": plan,
        "ticker_sessions": [benchenv.session_for(e) for e in engineers],
    }
    connections.close_all()
    return data


# --- Lock-wait sampling (a thread with its own connection) --------------------------------


class LockSampler(threading.Thread):
    """Samples pg_stat_activity of the bench database every `interval` seconds."""

    def __init__(self, interval=0.01):
        super().__init__(daemon=True)
        self.interval = interval
        self.stop_event = threading.Event()
        self.samples = 0
        self.chain_waiters = 0  # summed over samples
        self.row_waiters = 0
        self.samples_with_chain_wait = 0

    def run(self):
        import psycopg

        with psycopg.connect(benchenv.ENV["DATABASE_URL"], autocommit=True) as conn:
            while not self.stop_event.is_set():
                chain, rows = conn.execute(
                    "SELECT count(*) FILTER (WHERE wait_event = 'advisory'),"
                    " count(*) FILTER (WHERE wait_event IN ('tuple', 'transactionid'))"
                    " FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ).fetchone()
                self.samples += 1
                self.chain_waiters += chain
                self.row_waiters += rows
                self.samples_with_chain_wait += chain > 0
                time.sleep(self.interval)

    def stop(self):
        self.stop_event.set()
        self.join()


def deadlock_count() -> int:
    import psycopg

    with psycopg.connect(benchenv.ENV["DATABASE_URL"], autocommit=True) as conn:
        return conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


# --- Clients -----------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.timing = False
        self.rtts: list[float] = []
        self.server_ms: list[float] = []
        self.statuses: Counter = Counter()
        self.deliveries = 0


def item_state(pk: int) -> tuple[str, int]:
    from django.db import connection

    from deploychecks.runs.models import RunItem

    try:
        item = RunItem.objects.get(pk=pk)
        return item.state, item.version
    finally:
        connection.close()


async def ticker(port, session, deployment_id, items, stats: Stats, stop: asyncio.Event):
    import httpx

    base = f"http://{HOST}:{port}"
    page = f"{base}/deployments/{deployment_id}/"
    csrf = secrets.token_hex(16)
    state = {pk: (s, v) for pk, s, v in items}
    async with httpx.AsyncClient(
        cookies={"sessionid": session, "csrftoken": csrf},
        headers={"X-CSRFToken": csrf, "Referer": page, "Origin": base, "HX-Request": "true"},
        timeout=30,
    ) as client:
        while not stop.is_set():
            for pk in state:
                if stop.is_set():
                    return
                current, version = state[pk]
                target = "open" if current == "done" else "done"
                t0 = time.perf_counter()
                response = await client.post(
                    f"{page}items/{pk}/state/", data={"state": target, "version": str(version)}
                )
                rtt = (time.perf_counter() - t0) * 1000
                if stats.timing:
                    stats.statuses[response.status_code] += 1
                if response.status_code != 200:
                    # Never expected (each ticker has its own items); start again
                    # from the item as stored.
                    state[pk] = await asyncio.to_thread(item_state, pk)
                    continue
                state[pk] = (target, int(VERSION_RE.search(response.text).group(1)))
                if stats.timing:
                    stats.rtts.append(rtt)
                    timing = TIMING_RE.search(response.headers.get("server-timing", ""))
                    if timing:
                        stats.server_ms.append(float(timing.group(1)))


async def open_viewers(ports, plan, stats: Stats):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    sem = asyncio.Semaphore(50)
    sockets = []

    async def one(n, deployment_id, session):
        port = ports[n % len(ports)]
        async with sem:
            ws = await connect(
                f"ws://{HOST}:{port}/ws/deployments/{deployment_id}/",
                origin=f"http://{HOST}:{port}",
                additional_headers={"Cookie": f"sessionid={session}"},
                ping_interval=None,
                open_timeout=60,
                max_size=2**22,
            )
        sockets.append(ws)

        try:
            async for message in ws:
                if stats.timing and '"type": "event"' in message[:40]:
                    stats.deliveries += 1
        except ConnectionClosed:
            pass

    tasks = []
    n = 0
    for entry in plan:
        for session in entry["viewer_sessions"]:
            tasks.append(asyncio.create_task(one(n, entry["deployment"], session)))
            n += 1
    while len(sockets) < n:
        if any(t.done() and t.exception() for t in tasks):
            raise SystemExit(next(t.exception() for t in tasks if t.done() and t.exception()))
        await asyncio.sleep(0.1)
    return sockets, tasks


async def run_once(args, data, servers: Servers) -> dict:
    stats = Stats()
    sockets, viewer_tasks = await open_viewers(servers.ports, data["plan"], stats)
    await servers.wait_idle(limit=30)
    stop = asyncio.Event()
    tickers = []
    n = 0
    for entry in data["plan"]:
        for k, items in enumerate(entry["tickers"]):
            port = servers.ports[n % len(servers.ports)]
            n += 1
            tickers.append(
                asyncio.create_task(
                    ticker(
                        port,
                        data["ticker_sessions"][k],
                        entry["deployment"],
                        items,
                        stats,
                        stop,
                    )
                )
            )
    await asyncio.sleep(args.warmup)
    deadlocks_before = deadlock_count()
    cpu_before = servers.cpu()
    sampler = LockSampler()
    sampler.start()
    stats.timing = True
    started = time.perf_counter()
    await asyncio.sleep(args.seconds)
    stats.timing = False
    elapsed = time.perf_counter() - started
    server_cpu = servers.cpu() - cpu_before
    sampler.stop()
    stop.set()
    await asyncio.gather(*tickers, return_exceptions=True)
    deadlocks = deadlock_count() - deadlocks_before
    for ws in sockets:
        await ws.close()
    await asyncio.wait(viewer_tasks, timeout=15)
    ticks = len(stats.rtts)
    mean_chain_waiters = sampler.chain_waiters / max(1, sampler.samples)
    mean_row_waiters = sampler.row_waiters / max(1, sampler.samples)
    return {
        "workers": len(servers.ports),
        "deployments": len(data["plan"]),
        "tickers": sum(len(e["tickers"]) for e in data["plan"]),
        "viewers": sum(len(e["viewer_sessions"]) for e in data["plan"]),
        "seconds": f"{elapsed:.1f}",
        "ticks": ticks,
        "ticks_per_s": f"{ticks / elapsed:.1f}",
        "tick_p50_ms": fmt(pct(stats.rtts, 50)),
        "tick_p95_ms": fmt(pct(stats.rtts, 95)),
        "tick_server_p50_ms": fmt(pct(stats.server_ms, 50)),
        "tick_server_p95_ms": fmt(pct(stats.server_ms, 95)),
        "server_cpu_cores": f"{server_cpu / elapsed:.2f}",
        "server_cpu_ms_per_tick": fmt(server_cpu * 1000 / max(1, ticks)),
        "http_errors": sum(c for s, c in stats.statuses.items() if s != 200),
        "statuses": ",".join(f"{s}x{c}" for s, c in sorted(stats.statuses.items())),
        "deadlocks": deadlocks,
        "deliveries": stats.deliveries,
        "chain_lock_samples": sampler.samples,
        "chain_lock_waiting_share": fmt_share(sampler.samples_with_chain_wait, sampler.samples),
        "chain_lock_mean_waiters": f"{mean_chain_waiters:.2f}",
        "chain_lock_wait_ms_per_tick": fmt(mean_chain_waiters * elapsed * 1000 / max(1, ticks)),
        "row_lock_mean_waiters": f"{mean_row_waiters:.2f}",
    }


def _give_up(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def main():
    args = parse_args()
    args.tickers = max(1, min(args.tickers, 2))
    signal.signal(signal.SIGTERM, _give_up)
    signal.signal(signal.SIGALRM, _give_up)
    signal.alarm(args.max_seconds)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Out(RESULTS / f"throughput-d{args.deployments}-{stamp}.txt")
    m = benchenv.machine()
    out.line(f"# {' '.join(sys.argv)}")
    out.line(
        f"# {datetime.now().isoformat(timespec='seconds')} nproc={m['nproc']} "
        f"mem_gb={m['mem_gb']} cpu={m['cpu']} calib_ms={m['calib_ms']} "
        f"load={os.getloadavg()[0]:.2f}"
    )
    data = prepare_data(args)
    import redis

    for workers in [int(w) for w in args.workers.split(",")]:
        redis.Redis.from_url(benchenv.ENV["REDIS_URL"]).flushdb()  # db 2 is the bench's
        servers = Servers(workers, args.port, ["--ws-per-message-deflate", "false"], RESULTS)
        try:
            servers.start()
            servers.wait_ready()
            result = asyncio.run(run_once(args, data, servers))
        finally:
            servers.stop()
        log_deadlocks = sum("deadlock detected" in line for line in _log_lines(servers))
        out.line(f"# {workers} web process(es)")
        for key, value in result.items():
            out.kv(key, value)
        out.kv("deadlocks_in_server_logs", log_deadlocks)
        out.kv("server_log_errors", len(servers.log_errors()))
    out.line(f"# saved to {out.path}")


def _log_lines(servers: Servers) -> list[str]:
    lines = []
    for port in servers.ports:
        path = servers.log_dir / f"server-{port}.log"
        if path.exists():
            lines += path.read_text().splitlines()
    return lines


if __name__ == "__main__":
    main()
