#!/usr/bin/env python3
"""Ingest flood benchmark (issue 13): one token sends 200 readings/s for 60 s
while a person keeps opening the run page.

One uvicorn process (the app as deployed) and one Celery worker (the panel
refreshes run there), on their own bench database (deploychecks_bench_ingest:
migrated, demo data) and Redis db 2. A fresh deployment of the demo template is
started, an ingest token made for it, and its signals graded once. Then:

1. reference: the run page alone, `--page-rate` requests/s for `--reference` s;
2. flood: a separate process sends `--rate` readings/s (open loop, as a
   monitoring system does: it does not wait for answers) to
   `POST /api/deployments/<id>/readings` (or `…/batch` with `--batch N`
   readings per request) for `--seconds`, while the run page is requested at
   the same rate as in 1.

The token's rate limit is the app's (600 readings/min: the flood mostly gets
429s, from the door in front of Django, gonogo/ingest_gate.py); `--rate-limit 0`
takes it away, so every reading the process has room for is stored (the harder
case; the rest get 503 "busy").

    .venv/bin/python bench/ingest_flood.py
    .venv/bin/python bench/ingest_flood.py --rate-limit 0
    .venv/bin/python bench/ingest_flood.py --rate-limit 0 --batch 50

Prints key=value: readings sent and stored, ingest answers by status code, the
reading's server time p50/p95 (the app's Server-Timing) during the flood and,
before it, of 200 readings sent one at a time, the run page's server
p50/p95/max with and without the flood and its answers by status code, 500s,
server CPU per reading, and the panel refreshes (numbers the deployment took).
Talks to 127.0.0.1 only, stops what it started, saves output under bench/results/.
"""

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchenv  # noqa: E402
from fanout import (  # noqa: E402
    DEPLOYED_UVICORN_ARGS,
    HOST,
    RESULTS,
    TIMING_RE,
    Out,
    Servers,
    fmt,
    pct,
    proc_cpu,
)

BENCH_DB = "deploychecks_bench_ingest"
ALONE_READINGS = 200


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="length of the flood")
    p.add_argument("--rate", type=int, default=200, help="readings per second")
    p.add_argument("--batch", type=int, default=1, help="readings per request (…/batch if > 1)")
    p.add_argument("--page-rate", type=float, default=5.0, help="run page requests per second")
    p.add_argument("--reference", type=float, default=20.0, help="seconds of pages alone")
    p.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help="INGEST_RATE_LIMIT_PER_MINUTE (default: the app's, 600; 0: none)",
    )
    p.add_argument("--port", type=int, default=8775)
    p.add_argument("--fresh-db", action="store_true")
    return p.parse_args()


# --- Set-up (Django in this process) ------------------------------------------------------


def arrange() -> dict:
    from django.contrib.auth import get_user_model

    from deploychecks.gonogo.ingest import IncomingReading, record_token_readings
    from deploychecks.gonogo.models import IngestToken
    from deploychecks.gonogo.tokens import create_ingest_token
    from deploychecks.runs.services import change_status, create_deployment

    User = get_user_model()
    lead, engineer = User.objects.get(username="lead"), User.objects.get(username="engineer")
    demo = benchenv.demo_deployment()
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    deployment = create_deployment(
        demo.revision,
        user=lead,
        release_name=f"Ingest flood {stamp}",
        version="1.0.0",
        service="ingest-flood",
        lead=lead,
        engineers=[engineer],
    )
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    _, secret = create_ingest_token(deployment_id=deployment.pk, name="flood", user=lead)
    _, alone_secret = create_ingest_token(deployment_id=deployment.pk, name="alone", user=lead)
    token = IngestToken.objects.get(deployment=deployment, name="flood")
    signals = list(deployment.signals.order_by("position"))
    # Grade every signal once (the first reading of a signal is judged under the lock).
    record_token_readings(
        deployment_id=deployment.pk,
        token=token,
        readings=[IncomingReading(s.name, 0 if s.is_boolean else _green(s)) for s in signals],
    )
    return {
        "pk": deployment.pk,
        "secret": secret,
        "alone_secret": alone_secret,
        "cookie": benchenv.session_for(engineer),
        "signals": [(s.name, s.is_boolean, _green(s)) for s in signals],
    }


def _green(signal) -> float:
    """A value comfortably inside the signal's green range."""
    bound = signal.yellow_at if signal.yellow_at is not None else signal.red_at
    return bound * (0.5 if signal.direction == "above" else 2.0)


def deployment_seq(pk: int) -> int:
    from deploychecks.runs.models import Deployment

    return Deployment.objects.values_list("seq", flat=True).get(pk=pk)


def stored_readings(pk: int) -> int:
    from deploychecks.gonogo.models import Reading

    return Reading.objects.filter(signal__deployment_id=pk).count()


def start_worker(log_dir: Path):
    import subprocess

    log = (log_dir / "ingest-flood-worker.log").open("w")
    return subprocess.Popen(
        [
            benchenv.PYTHON,
            "-m",
            "celery",
            "-A",
            "deploychecks",
            "worker",
            "--loglevel=WARNING",
            "--concurrency=1",
        ],
        cwd=benchenv.ROOT,
        env=benchenv.child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


# --- The flood (its own process, so its client work does not slow the page timer) ----


def flood(base: str, data: dict, args_dict: dict, result_path: str, start_at: float) -> None:
    asyncio.run(_flood(base, data, args_dict, result_path, start_at))


async def _flood(base, data, args, result_path, start_at):
    """Open loop on keep-alive connections over bare sockets.

    httpx with thousands of requests waiting for its pool spent its time in the
    pool itself (the client fell behind, not the server). Here CONNECTIONS
    senders take the next due request from one schedule; a request's round
    trip counts from when it was due, so a server that falls behind shows.
    """
    batch, rate, seconds = args["batch"], args["rate"], args["seconds"]
    host, port = base.removeprefix("http://").split(":")
    path = f"/api/deployments/{data['pk']}/readings" + ("/batch" if batch > 1 else "")
    rng = random.Random(13)
    requests_per_s = rate / batch
    total = int(requests_per_s * seconds)
    results = []

    def reading():
        name, boolean, green = rng.choice(data["signals"])
        value = 0 if boolean else round(green * rng.uniform(0.5, 1.0), 4)
        return {"signal": name, "value": value}

    def request_bytes() -> bytes:
        body = json.dumps(
            {"readings": [reading() for _ in range(batch)]} if batch > 1 else reading()
        ).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {data['secret']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    while time.time() < start_at:
        await asyncio.sleep(0.005)
    began = time.monotonic()
    due = iter(range(total))

    async def sender():
        reader = writer = None
        for i in due:
            at = began + i / requests_per_s
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            payload = request_bytes()
            try:
                for attempt in (1, 2):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, int(port))
                    try:
                        writer.write(payload)
                        await writer.drain()
                        status, headers = await _read_response(reader)
                        break
                    except (OSError, asyncio.IncompleteReadError):
                        # The server closed an idle keep-alive connection (uvicorn:
                        # after 5 s): once more on a new one.
                        writer.close()
                        writer = None
                        if attempt == 2:
                            raise
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                results.append((type(exc).__name__, None, None))
                writer = None
                continue
            timing = TIMING_RE.search(headers.get("server-timing", ""))
            results.append(
                (
                    status,
                    float(timing.group(1)) if timing else None,
                    (time.monotonic() - at) * 1000,
                )
            )
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
    sent_for = time.monotonic() - began
    Path(result_path).write_text(json.dumps({"results": results, "sent_for": sent_for}))


CONNECTIONS = 32


async def _read_response(reader) -> tuple[int, dict]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers


# --- The person's run page ------------------------------------------------------------------


async def time_pages(base: str, data: dict, rate: float, seconds: float) -> list:
    """Open loop at `rate`/s for `seconds`: (status, server ms, round trip ms) each."""
    import httpx

    results = []
    url = f"/deployments/{data['pk']}/"
    async with httpx.AsyncClient(
        base_url=base, cookies={"sessionid": data["cookie"]}, timeout=60
    ) as client:

        async def one():
            started = time.perf_counter()
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                results.append((type(exc).__name__, None, None))
                return
            timing = TIMING_RE.search(response.headers.get("server-timing", ""))
            results.append(
                (
                    response.status_code,
                    float(timing.group(1)) if timing else None,
                    (time.perf_counter() - started) * 1000,
                )
            )

        began, tasks = time.monotonic(), []
        for i in range(int(rate * seconds)):
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return results


def readings_one_at_a_time(base: str, data: dict, count: int) -> list[float]:
    """Server ms of `count` readings sent one after the other (another token)."""
    import httpx

    name, boolean, green = data["signals"][0]
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(count):
            response = client.post(
                f"/api/deployments/{data['pk']}/readings",
                json={"signal": name, "value": green * (0.5 + (i % 10) / 40)},
                headers={"Authorization": f"Bearer {data['alone_secret']}"},
            )
            assert response.status_code == 201, response.text
            times.append(float(TIMING_RE.search(response.headers["server-timing"]).group(1)))
    return times


def report_pages(out: Out, prefix: str, results: list) -> None:
    server = [ms for _, ms, _ in results if ms is not None]
    rtt = [ms for _, _, ms in results if ms is not None]
    codes = Counter(str(code) for code, _, _ in results)
    out.kv(f"{prefix}_requests", len(results))
    out.kv(f"{prefix}_status", ",".join(f"{k}:{v}" for k, v in sorted(codes.items())))
    out.kv(f"{prefix}_server_p50_ms", fmt(pct(server, 50)))
    out.kv(f"{prefix}_server_p95_ms", fmt(pct(server, 95)))
    out.kv(f"{prefix}_server_max_ms", fmt(max(server) if server else float("nan")))
    out.kv(f"{prefix}_rtt_p95_ms", fmt(pct(rtt, 95)))


def main():
    args = parse_args()
    benchenv.use_database(BENCH_DB)
    if args.rate_limit is not None:
        benchenv.ENV["INGEST_RATE_LIMIT_PER_MINUTE"] = str(args.rate_limit or 1_000_000_000)
    benchenv.prepare(fresh=args.fresh_db)
    benchenv.setup_django()
    data = arrange()
    RESULTS.mkdir(exist_ok=True)
    out = Out(RESULTS / f"ingest_flood-{datetime.now():%Y%m%d-%H%M%S}.txt")
    for key, value in benchenv.machine().items():
        out.kv(key, value)
    for key in ("seconds", "rate", "batch", "page_rate", "rate_limit"):
        out.kv(key, getattr(args, key))
    servers = Servers(1, args.port, DEPLOYED_UVICORN_ARGS, RESULTS)
    servers.start()
    worker = start_worker(RESULTS)
    base = f"http://{HOST}:{args.port}"
    try:
        servers.wait_ready()
        pid = servers.procs[0].pid
        asyncio.run(time_pages(base, data, args.page_rate, 3))  # warm-up
        readings_one_at_a_time(base, data, 20)  # warm-up
        alone = readings_one_at_a_time(base, data, ALONE_READINGS)
        out.kv("reading_alone_server_p50_ms", fmt(pct(alone, 50)))
        out.kv("reading_alone_server_p95_ms", fmt(pct(alone, 95)))
        cpu_before = proc_cpu(pid)
        reference = asyncio.run(time_pages(base, data, args.page_rate, args.reference))
        page_cpu_s = (proc_cpu(pid) - cpu_before) / max(1, len(reference))
        report_pages(out, "page_alone", reference)

        seq_before, stored_before = deployment_seq(data["pk"]), stored_readings(data["pk"])
        result_path = RESULTS / "ingest_flood-client.json"
        start_at = time.time() + 1.0
        child = multiprocessing.get_context("spawn").Process(
            target=flood, args=(base, data, vars(args), str(result_path), start_at)
        )
        child.start()
        while time.time() < start_at:
            time.sleep(0.01)
        cpu_before, worker_before = proc_cpu(pid), proc_cpu(worker.pid)
        flood_began = time.monotonic()
        loaded = asyncio.run(time_pages(base, data, args.page_rate, args.seconds))
        child.join()
        flood_seconds = time.monotonic() - flood_began
        cpu_used = proc_cpu(pid) - cpu_before
        worker_cpu = proc_cpu(worker.pid) - worker_before
        time.sleep(2.0)  # the last panel refresh
        flood_out = json.loads(result_path.read_text())
        results = flood_out["results"]
        codes = Counter(str(code) for code, _, _ in results)
        server = [ms for code, ms, _ in results if code == 201 and ms is not None]
        stored = stored_readings(data["pk"]) - stored_before
        out.kv("ingest_requests", len(results))
        out.kv("ingest_sent_per_s", fmt(len(results) / max(0.001, flood_out["sent_for"])))
        out.kv("ingest_status", ",".join(f"{k}:{v}" for k, v in sorted(codes.items())))
        out.kv("readings_stored", stored)
        out.kv("readings_stored_per_s", fmt(stored / max(0.001, flood_seconds)))
        out.kv("reading_server_p50_ms", fmt(pct(server, 50)))
        out.kv("reading_server_p95_ms", fmt(pct(server, 95)))
        out.kv("reading_rtt_p95_ms", fmt(pct([ms for c, _, ms in results if c == 201], 95)))
        report_pages(out, "page_flood", loaded)
        everything = loaded + reference + results
        out.kv("answers_500", sum(1 for code, _, _ in everything if code == 500))
        # 503 is the ingest's own "busy, retry in a second" (INGEST_MAX_CONCURRENT).
        out.kv("pages_not_200", sum(1 for code, _, _ in loaded + reference if code != 200))
        page_cpu = page_cpu_s * len(loaded)
        out.kv("server_cpu_pct", fmt(100 * cpu_used / flood_seconds))
        ingest_cpu_ms = 1000 * (cpu_used - page_cpu)
        out.kv("server_cpu_ms_per_ingest_request", fmt(ingest_cpu_ms / max(1, len(results))))
        out.kv("worker_cpu_pct", fmt(100 * worker_cpu / flood_seconds))
        out.kv("panel_refreshes", deployment_seq(data["pk"]) - seq_before)
        # django.request logs each 503 as an error; anything else is a real one.
        errors = [e for e in servers.log_errors() if "Service Unavailable" not in e]
        out.kv("server_log_errors", len(errors))
        for line in errors[:5]:
            out.line(f"# {line}")
    finally:
        servers.stop()
        worker.terminate()
        worker.wait(15)
    print(f"saved {out.path}")


if __name__ == "__main__":
    main()
