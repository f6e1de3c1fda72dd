#!/usr/bin/env python3
"""Gate long-poll benchmark (issue 15): N pipelines waiting on one gate.

One uvicorn process (the app as deployed) on its own bench database
(deploychecks_bench_gate: migrated, demo data) and Redis db 2. A small
deployment with one item left open before go-live; N clients (500) call
`GET /api/v1/deployments/<id>/gate?for=go-live&wait=600` with a token and
wait. Meanwhile the demo run page is timed (`GET /deployments/<pk>/`, a logged
in engineer, 4 at a time); the same number of requests was timed just before,
without waiters: the reference of the same run. Then the last item is ticked
through the API, and each waiter's answer is timed from the tick's response.

    .venv/bin/python bench/gate_wait.py
    .venv/bin/python bench/gate_wait.py --waiters 500 --page-requests 300

Prints waiters, answered_open, answer_p50_ms, answer_p95_ms, answer_max_ms
(after the tick's response), page_p50/p95 without and with waiters and their
ratio, and the server's threads while the waiters wait. Talks to 127.0.0.1
only, stops its server itself, saves its output under bench/results/.
"""

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchenv  # noqa: E402
from fanout import DEPLOYED_UVICORN_ARGS, HOST, RESULTS, Out, Servers, fmt, pct  # noqa: E402

BENCH_DB = "deploychecks_bench_gate"
CHECKLIST = """\
# Gate bench checklist

## Before go-live
- [ ] **Tests passing**
- [ ] **Last check**

## After go-live
- [ ] **Smoke tests**
"""


def arrange():
    """The deployment, a token, and a session for the run page (in this process)."""
    from django.contrib.auth import get_user_model

    from deploychecks.api import tokens
    from deploychecks.api.models import ApiToken
    from deploychecks.checklists.parser import parse_checklist
    from deploychecks.checklists.services import save_template
    from deploychecks.runs.services import create_deployment, set_item_state

    User = get_user_model()
    engineer = User.objects.get(username="engineer")
    lead = User.objects.get(username="lead")
    stamp = datetime.now().strftime("%Y%m%d%H%M%S%f")
    parsed = parse_checklist(CHECKLIST)
    parsed.name = f"Gate bench {stamp}"
    deployment = create_deployment(
        save_template(parsed),
        user=lead,
        release_name=f"Gate bench {stamp}",
        version="1.0.0",
        service="gate-bench",
        lead=lead,
        engineers=[engineer],
    )
    first = deployment.items.get(key="tests-passing")
    set_item_state(
        deployment_id=deployment.pk,
        item_id=first.pk,
        state="done",
        expected_version=first.version,
        user=engineer,
    )
    token, secret = tokens.create_personal_token(
        user=engineer, name=f"gate bench {stamp}", scopes=["read", "tick"]
    )
    ApiToken.objects.filter(pk=token.pk).update(rate_limit=1_000_000)
    demo = benchenv.demo_deployment()
    return deployment.pk, secret, demo.pk, benchenv.session_for(engineer)


async def time_pages(client, url: str, cookie: str, count: int, concurrency: int = 4):
    times = []
    queue = asyncio.Queue()
    for _ in range(count):
        queue.put_nowait(None)

    async def worker():
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            response = await client.get(url, cookies={"sessionid": cookie})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return times


async def run(
    args, servers, base: str, deployment_id: int, secret: str, demo_pk: int, cookie: str, out
):
    import httpx

    page_url = f"{base}/deployments/{demo_pk}/"
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(timeout=30) as pages:
        await time_pages(pages, page_url, cookie, 20)  # warm-up
        reference = await time_pages(pages, page_url, cookie, args.page_requests)

        answered = {}
        request = (
            f"GET /api/v1/deployments/{deployment_id}/gate?for=go-live&wait=600 HTTP/1.1\r\n"
            f"Host: {HOST}\r\nAuthorization: Bearer {secret}\r\nConnection: close\r\n\r\n"
        ).encode()

        async def wait(n):
            # A bare socket, not httpx: 500 responses landing at once in one
            # httpx client spent most of a second in the client itself.
            reader, writer = await asyncio.open_connection(HOST, args.port)
            writer.write(request)
            await writer.drain()
            first = await reader.read(65536)
            at = time.monotonic()
            rest = await reader.read()
            writer.close()
            text = (first + rest).decode()
            status = int(text.split(" ", 2)[1])
            answered[n] = (at, status, "open" if '"status": "open"' in text else "closed")

        tasks = [asyncio.create_task(wait(n)) for n in range(args.waiters)]
        await asyncio.sleep(args.settle)
        # Every waiter's first look (sign in, access, the gate) done: the server idle.
        settled = await servers.wait_idle(quiet=1.0)
        out.kv("waiters_settled_s", fmt(args.settle + settled))
        early = len(answered)
        threads = server_threads(out.server_pid)
        loaded = await time_pages(pages, page_url, cookie, args.page_requests)
        item = await pages.get(f"{base}/api/v1/deployments/{deployment_id}", headers=headers)
        last = next(
            i for p in item.json()["phases"] for i in p["items"] if i["key"] == "last-check"
        )
        response = await pages.post(
            f"{base}/api/v1/deployments/{deployment_id}/items/last-check/state",
            json={"state": "done", "expected_version": last["version"]},
            headers=headers,
        )
        ticked = time.monotonic()
        assert response.status_code == 200, response.text
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    after = [(at - ticked) * 1000 for at, _, _ in answered.values()]
    opened = sum(1 for _, code, status in answered.values() if code == 200 and status == "open")
    out.kv("waiters", args.waiters)
    out.kv("answered_before_tick", early)
    out.kv("answered_open", opened)
    out.kv("answer_p50_ms", fmt(pct(after, 50)))
    out.kv("answer_p95_ms", fmt(pct(after, 95)))
    out.kv("answer_max_ms", fmt(max(after)))
    out.kv("server_threads_while_waiting", threads)
    out.kv("page_requests", args.page_requests)
    out.kv("page_p50_ms_reference", fmt(statistics.median(reference)))
    out.kv("page_p95_ms_reference", fmt(pct(reference, 95)))
    out.kv("page_p50_ms_with_waiters", fmt(statistics.median(loaded)))
    out.kv("page_p95_ms_with_waiters", fmt(pct(loaded, 95)))
    out.kv("page_p95_ratio", f"{pct(loaded, 95) / pct(reference, 95):.2f}")


def server_threads(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return -1
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiters", type=int, default=500)
    parser.add_argument("--page-requests", type=int, default=200)
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds before waiting for the server to idle"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fresh-db", action="store_true")
    args = parser.parse_args()

    benchenv.use_database(BENCH_DB)
    benchenv.prepare(fresh=args.fresh_db)
    benchenv.setup_django()
    deployment_id, secret, demo_pk, cookie = arrange()
    RESULTS.mkdir(exist_ok=True)
    out = Out(RESULTS / f"gate_wait-{datetime.now():%Y%m%d-%H%M%S}.txt")
    for key, value in benchenv.machine().items():
        out.kv(key, value)
    servers = Servers(1, args.port, DEPLOYED_UVICORN_ARGS, RESULTS)
    servers.start()
    try:
        servers.wait_ready()
        out.server_pid = servers.procs[0].pid
        base = f"http://{HOST}:{args.port}"
        asyncio.run(run(args, servers, base, deployment_id, secret, demo_pk, cookie, out))
    finally:
        servers.stop()
    print(f"saved {out.path}")


if __name__ == "__main__":
    main()
