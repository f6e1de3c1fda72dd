"""`bench/fanout.py --tickers K [--duration S] [--baseline]`: many people ticking (issue 13).

K people (users `bench-ticker-NN`, engineers of the demo deployment, each with
a session of their own) tick K different items of the same deployment at once,
each in a closed loop (POST, answer, pause `--interval`, next), while N viewers
listen on websockets. For every tick: the time from sending its POST until the
last viewer has its message (matched by the item and the version the answer
gave), and the app's server time (`Server-Timing`).

Each viewer follows the sequence numbers as static/js/run.js does: a message
whose seq is not the one after the last it saw is a gap (the page refetches
its checklist then: with `--resync` the viewer does that fetch too, as a
browser would); one older than the last is late (the page drops it).

RSS and VmHWM of every web process are sampled every `--sample-every` seconds
and printed as a series.

With `--baseline` the same viewers and the same tick pattern then run against
two reference servers (bench/refservers.py): a bare `websockets` broadcast
server (the floor) and a minimal Channels app with plain channels-redis groups,
with messages padded to the app's mean message size.
"""

import asyncio
import contextlib
import os
import re
import secrets
import signal
import statistics
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import benchenv
from fanout import HOST, RESULTS, TIMING_RE, VERSION_RE, Servers, fmt, pct, proc_status

TICKER_PREFIX = "bench-ticker-"
SEQ_RE = re.compile(r'"seq":\s*(\d+)')
# The item row in an event's html (json-escaped quotes): which tick it was.
ITEM_RE = re.compile(r'id=\\"item-(\d+)\\"[^>]*?data-version=\\"(\d+)')
RESYNC_RE = re.compile(r'"resync":\s*true')


# --- Data ---------------------------------------------------------------------------------


def prepare_tickers(count: int) -> dict:
    """`count` ticker users (engineers of the demo deployment), sessions and an item each."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connections

    from deploychecks.runs.models import Participant, RunItem

    User = get_user_model()
    deployment = benchenv.demo_deployment()
    names = [f"{TICKER_PREFIX}{i:02d}" for i in range(count)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    password = make_password("bench-" + secrets.token_hex(8))
    User.objects.bulk_create(
        [
            User(username=n, first_name="Bench", last_name=f"Ticker {n[-2:]}", password=password)
            for n in names
            if n not in existing
        ]
    )
    users = list(User.objects.filter(username__in=names).order_by("username"))
    Participant.objects.bulk_create(
        [Participant(deployment=deployment, user=u, role="engineer") for u in users],
        ignore_conflicts=True,
    )
    items = list(
        RunItem.objects.filter(deployment=deployment)
        .exclude(state="na")
        .order_by("phase__position", "position")
        .values_list("pk", flat=True)[:count]
    )
    if len(items) < count:
        raise SystemExit(f"the demo deployment has only {len(items)} items to tick")
    result = {"items": items, "sessions": benchenv.bulk_sessions(users)}
    connections.close_all()
    return result


def read_items(item_ids: list[int]) -> tuple[dict, int]:
    """{item: (state, version)} and the deployment's seq."""
    from django.db import connections

    from deploychecks.runs.models import RunItem

    rows = RunItem.objects.filter(pk__in=item_ids).select_related("deployment")
    states = {r.pk: (r.state, r.version) for r in rows}
    seq = benchenv.demo_deployment().seq
    connections.close_all()
    return states, seq


def cleanup_tickers(data: dict) -> None:
    from django.contrib.sessions.models import Session
    from django.db import connections

    from deploychecks.runs.models import Participant

    Session.objects.filter(session_key__in=data.get("sessions", [])).delete()
    Participant.objects.filter(
        deployment_id=data["deployment"], user__username__startswith=TICKER_PREFIX
    ).delete()
    connections.close_all()


# --- Viewers -----------------------------------------------------------------------------


class Tally:
    """What every viewer received, in one asyncio process."""

    def __init__(self, viewers: int, start_seq: int):
        self.viewers = viewers
        self.start_seq = start_seq
        self.count = defaultdict(int)
        self.last = {}  # seq -> time the last viewer had it
        self.key = {}  # seq -> (item, version) of its tick
        self.deliveries = self.gaps = self.late = self.resyncs = self.presence = 0
        self.resync_msgs = self.pongs = 0
        self.bytes = 0
        self.fetches = self.fetch_errors = 0
        self.fetch_ms: list[float] = []

    def arrived(self, seq: int, now: float, message: str):
        n = self.count[seq] = self.count[seq] + 1
        self.deliveries += 1
        if n == 1:
            self.bytes += len(message)
            match = ITEM_RE.search(message)
            if match:
                self.key[seq] = (int(match.group(1)), int(match.group(2)))
        if n == self.viewers:
            self.last[seq] = now


class Viewer:
    def __init__(self, tally: Tally, fetcher=None):
        self.tally = tally
        self.last_seq = tally.start_seq
        self.fetcher = fetcher  # async () -> None: the page's resync fetch, or None
        self.resyncing = False
        self.tasks = set()

    async def heartbeat(self, ws, every: float):
        """static/js/run.js's ping every 25 s (the server refreshes presence)."""
        from websockets.exceptions import ConnectionClosed

        await asyncio.sleep(every * secrets.randbelow(1000) / 1000)  # pages opened at random
        try:
            while True:
                await ws.send('{"type": "ping"}')
                await asyncio.sleep(every)
        except ConnectionClosed:
            pass

    async def listen(self, ws):
        from websockets.exceptions import ConnectionClosed

        tally = self.tally
        try:
            async for message in ws:
                if message.startswith('{"type": "event"'):
                    seq = int(SEQ_RE.search(message, 0, 120).group(1))
                    tally.arrived(seq, time.perf_counter(), message)
                    self.follow(seq, RESYNC_RE.search(message, 0, 120) is not None)
                elif message.startswith('{"type": "pong"'):
                    tally.pongs += 1
                else:
                    tally.presence += 1
        except ConnectionClosed:
            pass

    def follow(self, seq: int, resync: bool):
        """static/js/run.js's apply(): in order, or a gap (refetch), or late (dropped)."""
        tally = self.tally
        if seq <= self.last_seq:
            tally.late += 1
            return
        if resync:
            tally.resync_msgs += 1
        elif seq != self.last_seq + 1:
            tally.gaps += 1
            self.refetch()
        self.last_seq = seq

    def refetch(self):
        if self.fetcher is None or self.resyncing:
            return
        self.resyncing = True
        task = asyncio.get_running_loop().create_task(self._fetch())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _fetch(self):
        t0 = time.perf_counter()
        try:
            await self.fetcher()
            self.tally.fetch_ms.append((time.perf_counter() - t0) * 1000)
        except Exception:
            self.tally.fetch_errors += 1
        finally:
            self.tally.fetches += 1
            self.resyncing = False


async def open_sockets(urls_and_headers, concurrency=100):
    from websockets.asyncio.client import connect

    sem = asyncio.Semaphore(concurrency)

    async def one(url, origin, headers):
        async with sem:
            return await connect(
                url,
                origin=origin,
                additional_headers=headers,
                compression="deflate",  # browsers offer it; the servers decline it
                ping_interval=None,
                open_timeout=60,
                close_timeout=10,
                max_size=2**22,
            )

    return await asyncio.gather(*(one(*x) for x in urls_and_headers))


async def close_sockets(sockets, tasks):
    sem = asyncio.Semaphore(200)

    async def one(ws):
        async with sem:
            with contextlib.suppress(Exception):  # already gone
                await ws.close()

    await asyncio.gather(*(one(ws) for ws in sockets))
    if tasks:
        await asyncio.wait(tasks, timeout=15)


# --- Memory sampling ------------------------------------------------------------------------


class Sampler:
    def __init__(self, pids, every: float):
        self.pids = pids
        self.every = every
        self.rows = []  # (seconds, [(rss, hwm) per pid])
        self.t0 = time.monotonic()

    def sample(self):
        stats = [proc_status(pid) for pid in self.pids]
        self.rows.append(
            (time.monotonic() - self.t0, [(s.get("VmRSS", 0), s.get("VmHWM", 0)) for s in stats])
        )

    async def run(self):
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    def series(self) -> str:
        return " ".join(
            f"{t:.0f}s:" + ",".join(f"{rss:.0f}/{hwm:.0f}" for rss, hwm in per)
            for t, per in self.rows
        )

    def growth_after(self, warm_s: float) -> str:
        """RSS change of each process from the first sample after `warm_s` to the last."""
        later = [r for r in self.rows if r[0] >= warm_s]
        if len(later) < 2:
            return "-"
        first, last = later[0][1], later[-1][1]
        return ",".join(f"{b[0] - a[0]:+.0f}" for a, b in zip(first, last, strict=True))


async def probe(servers) -> list[str]:
    """PROBED_UVICORN's line from every web process (live blocks, RSS before and after trim)."""
    files = [RESULTS / f"server-{port}.probe" for port in servers.ports]
    counts = [len(f.read_text().splitlines()) if f.exists() else 0 for f in files]
    for pid in servers.pids:
        os.kill(pid, signal.SIGUSR2)
    lines = []
    for f, n in zip(files, counts, strict=True):
        for _ in range(100):
            have = f.read_text().splitlines() if f.exists() else []
            if len(have) > n:
                lines.append(have[-1].split(" ", 1)[1])
                break
            await asyncio.sleep(0.1)
    return lines


# --- Targets: the app and the reference servers ------------------------------------------


class AppTarget:
    name = "app"

    def __init__(self, servers: Servers, data: dict, tickers: dict, resync: bool):
        self.servers = servers
        self.data = data
        self.tickers = tickers
        self.resync = resync
        self.pids = servers.pids

    def viewer_sockets(self, viewers: int):
        ports = self.servers.ports
        dep = self.data["deployment"]
        for i, key in enumerate(self.data["viewer_sessions"][:viewers]):
            port = ports[i % len(ports)]
            yield (
                f"ws://{HOST}:{port}/ws/deployments/{dep}/",
                f"http://{HOST}:{port}",
                {"Cookie": f"sessionid={key}"},
            )

    def fetcher(self, i: int, http):
        """The fetches static/js/run.js makes on a gap: the checklist, then presence."""
        if not self.resync:
            return None
        ports = self.servers.ports
        port = ports[i % len(ports)]
        page = f"http://{HOST}:{port}/deployments/{self.data['deployment']}/"
        cookie = {"Cookie": f"sessionid={self.data['viewer_sessions'][i]}", "HX-Request": "true"}

        async def fetch():
            for url in (f"{page}checklist/", f"{page}presence/"):
                response = await http.get(url, headers=cookie)
                response.raise_for_status()

        return fetch

    async def start_seq(self):
        states, seq = await asyncio.to_thread(read_items, self.tickers["items"])
        self.states = states
        return seq

    async def end_seq(self, ticks: int, start: int) -> int:
        _, seq = await asyncio.to_thread(read_items, self.tickers["items"])
        return seq

    def ticker(self, k: int, timeout: float):
        import httpx

        port = self.servers.ports[k % len(self.servers.ports)]
        base = f"http://{HOST}:{port}"
        page = f"{base}/deployments/{self.data['deployment']}/"
        item = self.tickers["items"][k]
        url = f"{page}items/{item}/state/"
        csrf = secrets.token_hex(16)
        client = httpx.AsyncClient(
            cookies={"sessionid": self.tickers["sessions"][k], "csrftoken": csrf},
            headers={"X-CSRFToken": csrf, "Referer": page, "Origin": base, "HX-Request": "true"},
            timeout=timeout,
        )
        state, version = self.states[item]

        async def tick():
            """One tick: (item, version after, server ms or None), or raises."""
            nonlocal state, version
            target = "open" if state == "done" else "done"
            response = await client.post(url, data={"state": target, "version": str(version)})
            if response.status_code != 200:
                fresh, _ = await asyncio.to_thread(read_items, [item])
                state, version = fresh[item]
                raise RuntimeError(f"HTTP {response.status_code}")
            state = target
            version = int(VERSION_RE.search(response.text).group(1))
            timing = TIMING_RE.search(response.headers.get("server-timing", ""))
            return item, version, float(timing.group(1)) if timing else None

        return tick, client


class RefTarget:
    def __init__(self, name: str, port: int, proc: subprocess.Popen):
        self.name = name
        self.port = port
        self.proc = proc
        self.pids = [proc.pid]

    def viewer_sockets(self, viewers: int):
        for _ in range(viewers):
            yield f"ws://{HOST}:{self.port}/ws/", f"http://{HOST}:{self.port}", {}

    def fetcher(self, i, http):
        return None

    async def start_seq(self):
        return 0

    async def end_seq(self, ticks: int, start: int) -> int:
        return start + ticks

    def ticker(self, k: int, timeout: float):
        import httpx

        client = httpx.AsyncClient(timeout=timeout)
        url = f"http://{HOST}:{self.port}/tick"
        item = 1000 + k

        async def tick():
            response = await client.get(url, params={"item": item})
            response.raise_for_status()
            return item, int(VERSION_RE.search(response.text).group(1)), None

        return tick, client


def start_reference(kind: str, port: int, payload: int, log_dir: Path) -> subprocess.Popen:
    env = benchenv.child_env() | {"REF_PAYLOAD": str(payload)}
    bench_dir = str(Path(__file__).resolve().parent)
    if kind == "floor":
        cmd = [benchenv.PYTHON, f"{bench_dir}/refservers.py", "floor", "--port", str(port)]
        cmd += ["--payload", str(payload)]
    else:
        cmd = [
            benchenv.PYTHON,
            "-m",
            "uvicorn",
            "refservers:channels_app",
            "--app-dir",
            bench_dir,
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--ws-per-message-deflate",
            "false",
        ]
    log = (log_dir / f"ref-{kind}-{port}.log").open("w")
    return subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


async def wait_http(port: int, proc: subprocess.Popen, timeout=30.0):
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"reference server on {port} exited; see bench/results/")
            try:
                if (await client.get(f"http://{HOST}:{port}/healthz", timeout=2)).status_code:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"reference server on {port} did not start")
            await asyncio.sleep(0.2)


# --- One phase: viewers + tickers against one target -------------------------------------


async def wait_idle(pids, quiet=0.5, limit=120.0, threshold=0.05) -> float:
    from fanout import proc_cpu

    start = time.monotonic()
    last = sum(proc_cpu(p) for p in pids)
    while time.monotonic() - start < limit:
        await asyncio.sleep(quiet)
        now = sum(proc_cpu(p) for p in pids)
        if (now - last) / quiet < threshold * len(pids):
            break
        last = now
    return time.monotonic() - start


async def run_phase(args, target, out) -> dict:
    import httpx
    from fanout import proc_cpu

    sampler = Sampler(target.pids, args.sample_every)
    sampler_task = asyncio.create_task(sampler.run())
    http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=args.viewers))
    t_connect = time.monotonic()
    sockets = await open_sockets(list(target.viewer_sockets(args.viewers)))
    connect_s = time.monotonic() - t_connect
    settle_s = await wait_idle(target.pids)
    probed = getattr(target, "servers", None) is not None and target.servers.probe
    probes_before = await probe(target.servers) if probed else []  # before any tick
    start_seq = await target.start_seq()
    tally = Tally(args.viewers, start_seq)
    viewers = [Viewer(tally, target.fetcher(i, http)) for i in range(args.viewers)]
    listen = [asyncio.create_task(v.listen(ws)) for v, ws in zip(viewers, sockets, strict=True)]
    pings = [
        asyncio.create_task(v.heartbeat(ws, args.heartbeat))
        for v, ws in zip(viewers, sockets, strict=True)
        if args.heartbeat and target.name == "app"
    ]

    traced = getattr(target, "servers", None) is not None and target.servers.tracemalloc
    if traced:  # the first snapshot: connected, before any tick
        for pid in target.pids:
            os.kill(pid, signal.SIGUSR1)
    sent: dict[tuple[int, int], float] = {}  # (item, version) -> time its POST was sent
    server_ms, rtts, errors = [], [], []
    cpu_before = sum(proc_cpu(p) for p in target.pids)
    t_start = time.monotonic()
    stop_at = t_start + args.duration if args.duration else None
    clients = []

    async def ticker(k: int):
        tick, client = target.ticker(k, args.tick_timeout)
        clients.append(client)
        n = 0
        while (stop_at is None and n < args.ticks) or (stop_at and time.monotonic() < stop_at):
            n += 1
            t0 = time.perf_counter()
            try:
                item, version, server = await tick()
            except Exception as exc:
                errors.append(f"ticker {k}: {exc!r}")
                await asyncio.sleep(args.interval)
                continue
            rtt = time.perf_counter() - t0
            if n > args.warmup:
                sent[(item, version)] = t0
                rtts.append(rtt * 1000)
                if server is not None:
                    server_ms.append(server)
            # People do not start together: spread the tickers' phases.
            await asyncio.sleep(args.interval * (0.5 + secrets.randbelow(1000) / 1000))

    async def storms():
        while True:
            await asyncio.sleep(args.storm_every)
            for v in viewers:
                v.refetch()

    storm = asyncio.create_task(storms()) if args.storm_every and target.name == "app" else None
    await asyncio.gather(*(ticker(k) for k in range(args.tickers)))
    if storm:
        storm.cancel()
    tick_s = time.monotonic() - t_start
    if traced:  # the second: right after the ticks (the third at exit, idle)
        for pid in target.pids:
            os.kill(pid, signal.SIGUSR1)
    tick_cpu = sum(proc_cpu(p) for p in target.pids) - cpu_before
    for client in clients:
        await client.aclose()
    await asyncio.sleep(2.0)  # late deliveries still count
    fetch_tasks = [t for v in viewers for t in v.tasks]
    if fetch_tasks:
        await asyncio.wait(fetch_tasks, timeout=30)
    # Every seq from the start on, whoever made it (a tick's hooks may add some).
    ticks_made = len(sent) + args.warmup * args.tickers
    end_seq = await target.end_seq(ticks_made, start_seq)
    seqs = range(start_seq + 1, end_seq + 1)
    expected = len(seqs) * args.viewers
    received = sum(min(tally.count[s], args.viewers) for s in seqs)
    seq_of = {key: seq for seq, key in tally.key.items()}
    latencies, unmatched = [], 0
    for key, t0 in sent.items():
        seq = seq_of.get(key)
        if seq is None or seq not in tally.last:
            unmatched += 1
            continue
        latencies.append((tally.last[seq] - t0) * 1000)
    for task in pings:
        task.cancel()
    await close_sockets(sockets, listen)
    await http.aclose()
    drain_s = await wait_idle(target.pids)
    if traced:  # the third: idle again, every socket closed
        await asyncio.sleep(5)
        for pid in target.pids:
            os.kill(pid, signal.SIGUSR1)
        await wait_idle(target.pids, quiet=2.0, limit=120)
    # At rest: idle for a while (the app collects its garbage after 5 s idle).
    await asyncio.sleep(args.rest)
    sampler.sample()
    sampler_task.cancel()
    probes = await probe(target.servers) if probed else []
    warm = args.warm_seconds if args.duration else 0
    return {
        "target": target.name,
        "viewers": args.viewers,
        "tickers": args.tickers,
        "seconds": f"{tick_s:.0f}",
        "ticks": len(sent),
        "ticks_per_s": f"{len(sent) / max(tick_s, 0.001):.1f}",
        "p50_ms": fmt(pct(latencies, 50)),
        "p95_ms": fmt(pct(latencies, 95)),
        "max_ms": fmt(max(latencies) if latencies else float("nan")),
        "tick_server_p50_ms": fmt(pct(server_ms, 50)),
        "tick_server_p95_ms": fmt(pct(server_ms, 95)),
        "tick_rtt_p95_ms": fmt(pct(rtts, 95)),
        "deliveries": tally.deliveries,
        "gaps": tally.gaps,
        "gaps_pct": f"{100 * tally.gaps / max(1, tally.deliveries):.2f}",
        "late": tally.late,
        "resync_msgs": tally.resync_msgs,
        "lost": expected - received,
        "unmatched_ticks": unmatched,
        "resync_fetches": tally.fetches,
        "resync_fetch_p95_ms": fmt(pct(tally.fetch_ms, 95)),
        "resync_fetch_errors": tally.fetch_errors,
        "presence_msgs": tally.presence,
        "pongs": tally.pongs,
        "msg_bytes": int(tally.bytes / max(1, len(tally.key))),
        "server_cpu_ms_per_tick": fmt(tick_cpu * 1000 / max(1, len(sent))),
        "connect_s": f"{connect_s:.1f}",
        "settle_s": f"{settle_s:.1f}",
        "drain_s": f"{drain_s:.1f}",
        "errors": len(errors),
        "rss_series_mb": sampler.series(),
        "rss_growth_after_warmup_mb": sampler.growth_after(warm),
        "rss_mb": ",".join(f"{hwm:.0f}" for _, hwm in sampler.rows[-1][1]),
        "rss_now_mb": ",".join(f"{rss:.0f}" for rss, _ in sampler.rows[-1][1]),
        "memory_probe_start": " | ".join(probes_before) or "-",
        "memory_probe_idle": " | ".join(probes) or "-",
        "load": f"{os.getloadavg()[0]:.2f}",
        "_errors": errors,
    }


def report(out, result: dict, prefix: str = ""):
    for key, value in result.items():
        if not key.startswith("_"):
            out.kv(prefix + key, value)
    for e in result["_errors"][:10]:
        out.line(f"# {e}")


async def run_all(args, data, tickers, servers, out):
    """The app, then (--baseline) the two reference servers; with --rounds R the
    three alternate R times and the ratios are the medians of each round's (the
    machine is shared: its load changes from one minute to the next)."""
    target = AppTarget(servers, data, tickers, args.resync)
    rounds = []
    for rnd in range(1, args.rounds + 1):
        result = await run_phase(args, target, out)
        out.line(f"# app, round {rnd}")
        report(out, result)
        if not args.baseline:
            continue
        payload = max(200, result["msg_bytes"])
        refs = {}
        for offset, kind in enumerate(("floor", "channels"), start=10):
            port = args.port + offset
            proc = start_reference(kind, port, payload, RESULTS)
            try:
                await wait_http(port, proc)
                refs[kind] = await run_phase(args, RefTarget(kind, port, proc), out)
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            out.line(f"# {kind}, round {rnd} (payload {payload} bytes)")
            report(out, refs[kind], prefix=f"{kind}_")
        rounds.append(
            (
                float(result["p95_ms"]),
                float(refs["floor"]["p95_ms"]),
                float(refs["channels"]["p95_ms"]),
            )
        )
    if not rounds:
        return
    out.line("# baseline" + (f" (medians of {len(rounds)} rounds)" if len(rounds) > 1 else ""))
    app_p95 = statistics.median(r[0] for r in rounds)
    floor_p95 = statistics.median(r[1] for r in rounds)
    channels_p95 = statistics.median(r[2] for r in rounds)
    out.kv("app_p95_ms", fmt(app_p95))
    out.kv("floor_p95_ms", fmt(floor_p95))
    out.kv("channels_p95_ms", fmt(channels_p95))
    out.kv("ratio_floor", f"{statistics.median(r[0] / r[1] for r in rounds):.2f}")
    out.kv("ratio_channels", f"{statistics.median(r[0] / r[2] for r in rounds):.2f}")
    if len(rounds) > 1:
        out.kv("ratio_floor_rounds", " ".join(f"{r[0] / r[1]:.2f}" for r in rounds))
        out.kv("ratio_channels_rounds", " ".join(f"{r[0] / r[2]:.2f}" for r in rounds))


def main(args, out):
    """Called by fanout.main for --tickers/--duration/--baseline."""
    from fanout import DEPLOYED_UVICORN_ARGS, cleanup_data, flush_bench_redis, prepare_data

    data, tickers = {}, {}
    uvicorn_args = ([] if args.server_deflate else DEPLOYED_UVICORN_ARGS) + args.uvicorn_arg
    servers = Servers(args.workers, args.port, uvicorn_args, RESULTS, args.profile, args.app)
    servers.tracemalloc = args.tracemalloc
    servers.probe = not (args.tracemalloc or args.profile)
    for port in servers.ports:
        (RESULTS / f"server-{port}.probe").unlink(missing_ok=True)
    servers.env = dict(kv.split("=", 1) for kv in args.server_env)
    try:
        data = prepare_data(args.viewers, args.fresh_db)
        tickers = prepare_tickers(args.tickers)
        tickers["deployment"] = data["deployment"]
        flush_bench_redis()
        out.line(
            f"# deployment={data['deployment']} items={tickers['items']} "
            f"participants={data['participants'] + args.tickers}"
        )
        servers.start()
        servers.wait_ready()
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            runner = asyncio.run
        runner(run_all(args, data, tickers, servers, out))
    finally:
        servers.stop()
        if data:
            cleanup_data(data)
        if tickers:
            cleanup_tickers(tickers)
    log_errors = servers.log_errors()
    out.kv("server_log_errors", len(log_errors))
    for line in log_errors[:10]:
        out.line(f"# {line}")
    out.kv("load_end", f"{os.getloadavg()[0]:.2f}")
    out.line(f"# saved {out.path.relative_to(benchenv.ROOT)}")
