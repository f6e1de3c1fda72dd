#!/usr/bin/env python3
"""Fan-out benchmark: one tick over HTTP → every websocket viewer of the deployment.

Starts W uvicorn processes (ports PORT, PORT+1, …) on the bench PostgreSQL database
and Redis db 2, opens N logged-in websocket viewers on the demo deployment (split
round-robin over the processes, as a load balancer would), then makes T ticks
through the real HTTP endpoint as the demo engineer. For each tick it records the
time from sending the POST until the LAST viewer has received that tick's `seq`.

    .venv/bin/python bench/fanout.py --viewers 500
    .venv/bin/python bench/fanout.py --viewers 1000 --workers 2
    .venv/bin/python bench/fanout.py --viewers 500 --repeat 5     # memory over rounds

Prints key=value lines (one block per round with --repeat, then a summary) and
saves the same text under bench/results/. Talks to 127.0.0.1 only and stops its
servers itself.
"""

import argparse
import asyncio
import contextlib
import math
import os
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchenv  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
VIEWER_PREFIX = "bench-viewer-"
HOST = "127.0.0.1"
# The uvicorn options of the deployed web service (docker-compose.yml, Dockerfile,
# Makefile), so the benchmark measures the app as it runs.
DEPLOYED_UVICORN_ARGS = ["--ws-per-message-deflate", "false"]
SEQ_RE = re.compile(r'"seq":\s*(\d+)')
VERSION_RE = re.compile(r'data-version="(\d+)"')
TIMING_RE = re.compile(r"app;dur=([\d.]+)")
# uvicorn re-raises SIGTERM after its graceful shutdown, which would kill
# `python -m cProfile` before it writes: dump the profile from that signal.
PROFILED_UVICORN = """
import cProfile, signal, sys, uvicorn
path = sys.argv.pop(1)
profile = cProfile.Profile()
def dump(*_):
    profile.disable()
    profile.dump_stats(path)
    sys.exit(0)
signal.signal(signal.SIGTERM, dump)
sys.argv[0] = "uvicorn"
profile.enable()
uvicorn.main()
"""
# tracemalloc in the web process: a snapshot on SIGUSR1 and on SIGTERM; the
# differences from the first one are written out, by traceback.
TRACED_UVICORN = """
import signal, sys, tracemalloc, linecache, uvicorn
path = sys.argv.pop(1)
tracemalloc.start(8)
snaps = []
def snap(signum, frame):
    skip = [tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, linecache.__file__)]
    snaps.append(tracemalloc.take_snapshot().filter_traces(skip))
    if len(snaps) < 2:
        return
    with open(path, "a") as f:
        stats = snaps[-1].compare_to(snaps[0], "traceback")
        f.write(f"# snapshot {len(snaps)}: traced {tracemalloc.get_traced_memory()}\\n")
        for stat in stats[:25]:
            f.write(f"{stat.size_diff / 1024:+.0f} KiB, {stat.count_diff:+d} blocks\\n")
            for line in stat.traceback.format(limit=12):
                f.write(line + "\\n")
        f.write("\\n")
    if signum == signal.SIGTERM:
        sys.exit(0)
signal.signal(signal.SIGUSR1, snap)
signal.signal(signal.SIGTERM, snap)
sys.argv[0] = "uvicorn"
uvicorn.main()
"""
# Memory probe (--tickers runs): on SIGUSR2 the web process appends one line to
# a file: live Python blocks (sys.getallocatedblocks), then RSS as it is, after
# gc.collect() and after glibc's malloc_trim(0). What trimming gives back was
# free memory the allocator kept; what stays is live.
PROBED_UVICORN = """
import ctypes, gc, signal, sys, time, uvicorn
path = sys.argv.pop(1)
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
def probe(signum, frame):
    before = rss()
    collected = gc.collect()
    after_gc = rss()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open(path, "a") as f:
        f.write(f"{time.time():.0f} blocks={sys.getallocatedblocks()} gc={collected} "
                f"rss={before} after_gc={after_gc} after_trim={rss()}\\n")
signal.signal(signal.SIGUSR2, probe)
sys.argv[0] = "uvicorn"
uvicorn.main()
"""
ERROR_MARKERS = ("Traceback", "ERROR", "over capacity", "MaxConnectionsError", "ChannelFull")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--viewers", type=int, default=100)
    p.add_argument("--workers", type=int, default=1, help="uvicorn processes (one port each)")
    p.add_argument("--ticks", type=int, default=30)
    p.add_argument("--repeat", type=int, default=1, help="rounds in one server lifetime")
    p.add_argument("--port", type=int, default=8765, help="first port")
    p.add_argument("--warmup", type=int, default=2, help="untimed ticks at the start of a round")
    p.add_argument(
        "--interval",
        type=float,
        default=None,
        help="pause between ticks (s; 0.25, or with --tickers each ticker's mean pause, 1.0)",
    )
    p.add_argument(
        "--tickers",
        type=int,
        default=0,
        help="K people ticking K items of the deployment at once (bench/fanout_load.py)",
    )
    p.add_argument(
        "--duration", type=float, default=0, help="with --tickers: tick for this long (s)"
    )
    p.add_argument(
        "--baseline",
        action="store_true",
        help="with --tickers: also run the websockets floor and a plain Channels app",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with --tickers: alternate app (and --baseline servers) this many times",
    )
    p.add_argument(
        "--resync",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --tickers: viewers refetch the checklist on a gap, as pages do",
    )
    p.add_argument(
        "--heartbeat",
        type=float,
        default=25.0,
        help="with --tickers: each viewer pings this often, as pages do (0: never)",
    )
    p.add_argument(
        "--storm-every",
        type=float,
        default=0,
        help="with --tickers: every S seconds all viewers refetch at once, as after a "
        "status change's resync (0: never)",
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        help="KEY=VALUE in the web processes' environment, repeatable (e.g. MALLOC_ARENA_MAX=2)",
    )
    p.add_argument(
        "--rest",
        type=float,
        default=10.0,
        help="with --tickers: seconds idle before the last RSS sample and memory probe",
    )
    p.add_argument("--sample-every", type=float, default=5.0, help="RSS sampling period (s)")
    p.add_argument(
        "--warm-seconds",
        type=float,
        default=60.0,
        help="with --duration: RSS growth is reported from this point on",
    )
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="uvicorn under tracemalloc; top allocations written to bench/results/",
    )
    p.add_argument("--tick-timeout", type=float, default=10.0)
    p.add_argument(
        "--max-seconds", type=int, default=1800, help="give up (and still clean up) after this long"
    )
    p.add_argument(
        "--no-deflate",
        action="store_true",
        help="viewers do not offer permessage-deflate (browsers do)",
    )
    p.add_argument(
        "--per-tick",
        action="store_true",
        help="also print every tick's last-viewer and server times, in order",
    )
    p.add_argument(
        "--server-deflate",
        action="store_true",
        help="uvicorn accepts permessage-deflate (its default; off as deployed)",
    )
    p.add_argument(
        "--uvicorn-arg",
        action="append",
        default=[],
        help="extra uvicorn argument, repeatable (e.g. --uvicorn-arg=--ws=wsproto)",
    )
    p.add_argument("--label", default="", help="added to the results file name")
    p.add_argument(
        "--fresh-db", action="store_true", help="drop and recreate the bench database first"
    )
    p.add_argument(
        "--app",
        default="deploychecks.asgi:application",
        help="ASGI application to serve (for experiments)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="run uvicorn under cProfile; writes bench/results/server-PORT.prof",
    )
    return p.parse_args()


# --- Output ---------------------------------------------------------------------------


class Out:
    def __init__(self, path: Path):
        RESULTS.mkdir(exist_ok=True)
        self.path = path
        self.file = path.open("w")

    def kv(self, key, value):
        self.line(f"{key}={value}")

    def line(self, text):
        print(text, flush=True)
        self.file.write(text + "\n")
        self.file.flush()


def pct(values, q):
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def fmt(ms):
    return f"{ms:.1f}"


# --- Processes ------------------------------------------------------------------------


def proc_status(pid: int) -> dict:
    result = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                result[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return result


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


class Servers:
    def __init__(
        self,
        count: int,
        first_port: int,
        extra: list[str],
        log_dir: Path,
        profile: bool = False,
        app: str = "deploychecks.asgi:application",
    ):
        self.app = app
        self.ports = [first_port + i for i in range(count)]
        self.profile = profile
        self.extra = extra
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.tracemalloc = False
        self.probe = False
        self.env: dict[str, str] = {}

    def start(self):
        for port in self.ports:
            if not port_free(port):
                raise SystemExit(f"port {port} is in use; pass --port")
        for port in self.ports:
            log = (self.log_dir / f"server-{port}.log").open("w")
            if self.profile:
                prof = ["-c", PROFILED_UVICORN, str(self.log_dir / f"server-{port}.prof")]
            elif self.probe:
                prof = ["-c", PROBED_UVICORN, str(self.log_dir / f"server-{port}.probe")]
            elif self.tracemalloc:
                prof = ["-c", TRACED_UVICORN, str(self.log_dir / f"server-{port}.tracemalloc")]
            else:
                prof = ["-m", "uvicorn"]
            cmd = [
                benchenv.PYTHON,
                *prof,
                self.app,
                "--host",
                HOST,
                "--port",
                str(port),
                "--lifespan",
                "on",
                "--log-level",
                "warning",
                "--no-access-log",
                *self.extra,
            ]
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=benchenv.ROOT,
                    env=benchenv.child_env() | self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def wait_ready(self, timeout=60.0):
        import httpx

        deadline = time.monotonic() + timeout
        for port, proc in zip(self.ports, self.procs, strict=True):
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"uvicorn on {port} exited; see {self.log_dir}")
                try:
                    if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"uvicorn on {port} did not start")
                time.sleep(0.2)

    @property
    def pids(self):
        return [p.pid for p in self.procs]

    def cpu(self) -> float:
        return sum(proc_cpu(pid) for pid in self.pids)

    async def wait_idle(self, quiet=0.5, limit=180.0, threshold=0.05) -> float:
        """Wait until the servers use < threshold CPU over `quiet` seconds."""
        start = time.monotonic()
        last = self.cpu()
        while time.monotonic() - start < limit:
            await asyncio.sleep(quiet)
            now = self.cpu()
            if (now - last) / quiet < threshold * len(self.procs):
                break
            last = now
        return time.monotonic() - start

    def rss(self):
        return [proc_status(pid) for pid in self.pids]

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def log_errors(self) -> list[str]:
        found = []
        for port in self.ports:
            path = self.log_dir / f"server-{port}.log"
            if path.exists():
                found += [
                    f"{port}: {line}"
                    for line in path.read_text().splitlines()
                    if any(m in line for m in ERROR_MARKERS)
                ]
        return found


# --- Database set-up (sync, Django ORM in this process) --------------------------------


def prepare_data(viewers: int, fresh: bool = False) -> dict:
    benchenv.prepare(fresh=fresh)
    benchenv.setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connections

    from deploychecks.realtime.models import PresenceEntry
    from deploychecks.runs.models import Participant, RunItem

    User = get_user_model()
    deployment = benchenv.demo_deployment()
    names = [f"{VIEWER_PREFIX}{i:05d}" for i in range(viewers)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    password = make_password("bench-" + secrets.token_hex(8))  # hashed once for all
    User.objects.bulk_create(
        [
            User(username=n, first_name="Bench", last_name=f"Viewer {n[-5:]}", password=password)
            for n in names
            if n not in existing
        ]
    )
    users = list(User.objects.filter(username__in=names).order_by("username"))
    Participant.objects.bulk_create(
        [Participant(deployment=deployment, user=u, role="viewer") for u in users],
        ignore_conflicts=True,
    )
    PresenceEntry.objects.filter(deployment=deployment).delete()  # left by a killed run
    engineer = User.objects.get(username="engineer")
    item = (
        RunItem.objects.filter(deployment=deployment)
        .exclude(state="na")
        .order_by("phase__position", "position")
        .first()
    )
    data = {
        "deployment": deployment.pk,
        "item": item.pk,
        "viewer_sessions": benchenv.bulk_sessions(users),
        "engineer_session": benchenv.session_for(engineer),
        "participants": Participant.objects.filter(deployment=deployment).count(),
    }
    connections.close_all()
    return data


def item_state(item_id: int) -> tuple[str, int, int]:
    from django.db import connections

    from deploychecks.runs.models import RunItem

    item = RunItem.objects.select_related("deployment").get(pk=item_id)
    result = (item.state, item.version, item.deployment.seq)
    connections.close_all()
    return result


def cleanup_data(data: dict) -> None:
    from django.contrib.sessions.models import Session
    from django.db import connections

    from deploychecks.realtime.models import PresenceEntry
    from deploychecks.runs.models import Participant

    keys = [*data.get("viewer_sessions", []), data.get("engineer_session")]
    Session.objects.filter(session_key__in=[k for k in keys if k]).delete()
    Participant.objects.filter(
        deployment_id=data["deployment"], user__username__startswith=VIEWER_PREFIX
    ).delete()
    PresenceEntry.objects.filter(deployment_id=data["deployment"]).delete()
    connections.close_all()


def flush_bench_redis() -> None:
    import redis

    redis.Redis.from_url(benchenv.ENV["REDIS_URL"]).flushdb()  # db 2 belongs to the bench


# --- Viewers --------------------------------------------------------------------------


class Tally:
    """Arrivals per seq, shared by all viewers (one asyncio process)."""

    def __init__(self, expected: int):
        self.expected = expected
        self.count = defaultdict(int)
        self.last = {}
        self.waiters: dict[int, asyncio.Future] = {}
        self.presence = 0
        self.unexpected_close = []

    def arrived(self, seq: int, now: float):
        n = self.count[seq] = self.count[seq] + 1
        if n == self.expected:
            self.last[seq] = now
            waiter = self.waiters.get(seq)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    def wait_for(self, seq: int) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        if seq in self.last:
            fut.set_result(self.last[seq])
        self.waiters[seq] = fut
        return fut


async def viewer(ws, tally: Tally):
    from websockets.exceptions import ConnectionClosed

    try:
        async for message in ws:
            if message.startswith('{"type": "event"') or message.startswith('{"type":"event"'):
                match = SEQ_RE.search(message, 0, 120)
                tally.arrived(int(match.group(1)), time.perf_counter())
            else:
                tally.presence += 1
    except ConnectionClosed:
        pass
    if ws.close_code not in (1000, 1001, None):
        tally.unexpected_close.append(ws.close_code)


async def open_viewers(ports, sessions, deployment_id, deflate, tally, concurrency=100):
    from websockets.asyncio.client import connect

    sem = asyncio.Semaphore(concurrency)
    sockets = [None] * len(sessions)

    async def one(i, session_key):
        port = ports[i % len(ports)]
        async with sem:
            sockets[i] = await connect(
                f"ws://{HOST}:{port}/ws/deployments/{deployment_id}/",
                origin=f"http://{HOST}:{port}",
                additional_headers={"Cookie": f"sessionid={session_key}"},
                compression="deflate" if deflate else None,
                ping_interval=None,
                open_timeout=60,
                close_timeout=10,
                max_size=2**22,
            )

    await asyncio.gather(*(one(i, k) for i, k in enumerate(sessions)))
    tasks = [asyncio.create_task(viewer(ws, tally)) for ws in sockets]
    return sockets, tasks


async def close_viewers(sockets, tasks, concurrency=200):
    sem = asyncio.Semaphore(concurrency)

    async def one(ws):
        async with sem:
            with contextlib.suppress(Exception):  # already gone
                await ws.close()

    await asyncio.gather(*(one(ws) for ws in sockets))
    await asyncio.wait(tasks, timeout=15)


# --- One round ------------------------------------------------------------------------


async def run_round(args, data, servers: Servers, out: Out, rnd: int) -> dict:
    import httpx

    tally = Tally(args.viewers)
    t_connect = time.monotonic()
    sockets, tasks = await open_viewers(
        servers.ports, data["viewer_sessions"], data["deployment"], not args.no_deflate, tally
    )
    connect_s = time.monotonic() - t_connect
    settle_s = await servers.wait_idle()  # the presence announcements of every join

    state, version, seq = await asyncio.to_thread(item_state, data["item"])
    port = servers.ports[0]
    base = f"http://{HOST}:{port}"
    page = f"{base}/deployments/{data['deployment']}/"
    url = f"{page}items/{data['item']}/state/"
    csrf = secrets.token_hex(16)  # 32 characters, the form Django's CSRF cookie takes
    client = httpx.AsyncClient(
        cookies={"sessionid": data["engineer_session"], "csrftoken": csrf},
        headers={"X-CSRFToken": csrf, "Referer": page, "Origin": base, "HX-Request": "true"},
        timeout=args.tick_timeout,
    )
    latencies, rtts, server_ms, errors, seqs = [], [], [], [], []
    cpu_before = servers.cpu()
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        for n in range(args.warmup + args.ticks):
            target = "open" if state == "done" else "done"
            waiter = tally.wait_for(seq + 1)
            t0 = time.perf_counter()
            response = await client.post(url, data={"state": target, "version": str(version)})
            rtt = time.perf_counter() - t0
            if response.status_code != 200:
                errors.append(f"tick {n}: HTTP {response.status_code}")
                waiter.cancel()
                state, version, seq = await asyncio.to_thread(item_state, data["item"])
                continue
            seq += 1
            seqs.append(seq)
            state = target
            version = int(VERSION_RE.search(response.text).group(1))
            try:
                last = await asyncio.wait_for(waiter, args.tick_timeout)
            except TimeoutError:
                last = None
                errors.append(f"tick {n}: seq {seq} reached {tally.count[seq]}/{args.viewers}")
            if n >= args.warmup:
                rtts.append(rtt * 1000)
                timing = TIMING_RE.search(response.headers.get("server-timing", ""))
                if timing:
                    server_ms.append(float(timing.group(1)))
                if last is not None:
                    latencies.append((last - t0) * 1000)
            await asyncio.sleep(args.interval)
    finally:
        await client.aclose()
    tick_cpu = servers.cpu() - cpu_before
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (
        client_after.ru_utime
        + client_after.ru_stime
        - client_before.ru_utime
        - client_before.ru_stime
    )
    await asyncio.sleep(1.0)  # late deliveries still count as delivered
    expected = len(seqs) * args.viewers
    received = sum(min(tally.count[s], args.viewers) for s in seqs)
    duplicates = sum(max(0, tally.count[s] - args.viewers) for s in seqs)
    await close_viewers(sockets, tasks)
    drain_s = await servers.wait_idle()
    rss = servers.rss()
    result = {
        "round": rnd,
        "viewers": args.viewers,
        "workers": args.workers,
        "ticks": len(latencies),
        "p50_ms": fmt(pct(latencies, 50)),
        "p95_ms": fmt(pct(latencies, 95)),
        "max_ms": fmt(max(latencies) if latencies else float("nan")),
        "lost": expected - received,
        "duplicates": duplicates,
        "tick_server_p50_ms": fmt(pct(server_ms, 50)),
        "tick_server_p95_ms": fmt(pct(server_ms, 95)),
        "tick_rtt_p95_ms": fmt(pct(rtts, 95)),
        "rss_mb": ",".join(f"{r.get('VmHWM', 0):.0f}" for r in rss),
        "rss_now_mb": ",".join(f"{r.get('VmRSS', 0):.0f}" for r in rss),
        "server_cpu_ms_per_tick": fmt(tick_cpu * 1000 / max(1, len(seqs))),
        "client_cpu_ms_per_tick": fmt(client_cpu * 1000 / max(1, len(seqs))),
        "connect_s": f"{connect_s:.1f}",
        "settle_s": f"{settle_s:.1f}",
        "drain_s": f"{drain_s:.1f}",
        "presence_msgs": tally.presence,
        "unexpected_closes": len(tally.unexpected_close),
        "close_codes": ",".join(
            f"{c}x{n}" for c, n in sorted(Counter(tally.unexpected_close).items(), key=str)
        )
        or "-",
        "errors": len(errors),
    }
    for e in errors[:10]:
        out.line(f"# {e}")
    if args.per_tick:
        out.line("# last_viewer_ms " + " ".join(fmt(v) for v in latencies))
        out.line("# tick_server_ms " + " ".join(fmt(v) for v in server_ms))
    return result | {"_latencies": latencies, "_server": server_ms}


async def run(args, data, servers, out):
    results = []
    for rnd in range(1, args.repeat + 1):
        result = await run_round(args, data, servers, out, rnd)
        results.append(result)
        if args.repeat > 1:
            out.line(f"# round {rnd}")
            for key, value in result.items():
                if not key.startswith("_"):
                    out.kv(key, value)
    return results


def _give_up(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # unwinds through the clean-up


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, _give_up)
    signal.signal(signal.SIGALRM, _give_up)
    signal.alarm(args.max_seconds)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.viewers * 2 + 1024
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    load_mode = bool(args.tickers or args.duration or args.baseline)
    if load_mode:
        args.tickers = args.tickers or 1
        args.interval = 1.0 if args.interval is None else args.interval
    elif args.interval is None:
        args.interval = 0.25
    name = f"fanout-v{args.viewers}-w{args.workers}" + (f"-k{args.tickers}" if load_mode else "")
    name = name + (f"-{args.label}" if args.label else "")
    out = Out(RESULTS / f"{name}-{stamp}.txt")
    m = benchenv.machine()
    out.line(f"# {' '.join(sys.argv)}")
    out.line(
        f"# {datetime.now().isoformat(timespec='seconds')} nproc={m['nproc']} "
        f"mem_gb={m['mem_gb']} cpu={m['cpu']} calib_ms={m['calib_ms']} "
        f"load={os.getloadavg()[0]:.2f}"
    )
    if load_mode:
        import fanout_load

        fanout_load.main(args, out)
        return
    data = {}
    uvicorn_args = ([] if args.server_deflate else DEPLOYED_UVICORN_ARGS) + args.uvicorn_arg
    servers = Servers(args.workers, args.port, uvicorn_args, RESULTS, args.profile, args.app)
    try:
        data = prepare_data(args.viewers, args.fresh_db)
        flush_bench_redis()
        out.line(
            f"# deployment={data['deployment']} item={data['item']} "
            f"participants={data['participants']}"
        )
        servers.start()
        servers.wait_ready()
        try:
            import uvloop
        except ImportError:
            uvloop = None
        runner = uvloop.run if uvloop else asyncio.run
        results = runner(run(args, data, servers, out))
    finally:
        servers.stop()
        if data:
            cleanup_data(data)
    latencies = [x for r in results for x in r["_latencies"]]
    server_ms = [x for r in results for x in r["_server"]]
    last = results[-1]
    if args.repeat > 1:
        out.line("# all rounds")
    out.kv("viewers", args.viewers)
    out.kv("workers", args.workers)
    out.kv("ticks", len(latencies))
    out.kv("p50_ms", fmt(pct(latencies, 50)))
    out.kv("p95_ms", fmt(pct(latencies, 95)))
    out.kv("max_ms", fmt(max(latencies) if latencies else float("nan")))
    out.kv("lost", sum(r["lost"] for r in results))
    out.kv("tick_server_p50_ms", fmt(pct(server_ms, 50)))
    out.kv("tick_server_p95_ms", fmt(pct(server_ms, 95)))
    out.kv("rss_mb", last["rss_mb"])
    if args.repeat > 1:
        out.kv("rss_mb_rounds", " ".join(r["rss_mb"] for r in results))
        out.kv("rss_now_mb_rounds", " ".join(r["rss_now_mb"] for r in results))
    for key in (
        "duplicates",
        "tick_rtt_p95_ms",
        "server_cpu_ms_per_tick",
        "client_cpu_ms_per_tick",
        "connect_s",
        "settle_s",
        "presence_msgs",
        "unexpected_closes",
        "close_codes",
        "errors",
    ):
        out.kv(key, last[key] if args.repeat == 1 else ",".join(str(r[key]) for r in results))
    out.kv("load_end", f"{os.getloadavg()[0]:.2f}")
    log_errors = servers.log_errors()
    out.kv("server_log_errors", len(log_errors))
    for line in log_errors[:10]:
        out.line(f"# {line}")
    out.line(f"# saved {out.path.relative_to(benchenv.ROOT)}")


if __name__ == "__main__":
    main()
