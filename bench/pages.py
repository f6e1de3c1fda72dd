#!/usr/bin/env python3
"""Server time of the app's pages, in-process through Django's test Client.

Uses the bench PostgreSQL database (created, migrated and loaded with the demo
data if needed, as bench/fanout.py does). Each page is requested --warmup times,
then --requests times as a logged-in user; the time is the whole Django stack
(every middleware, the view, the template) without HTTP parsing or network,
taken from the app's `Server-Timing` header. Prints `<page>_ms=` (median),
`<page>_p95_ms=` and `<page>_queries=` per page.

    .venv/bin/python bench/pages.py
    .venv/bin/python bench/pages.py --page run_page --requests 100

To add a page: write a function `(ctx) -> url` and register it in PAGES.
"""

import argparse
import math
import os
import re
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchenv  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TIMING_RE = re.compile(r"app;dur=([\d.]+)")


# --- Pages ----------------------------------------------------------------------------
# Each takes the context built by `context()` and returns the URL to GET.


def run_page(ctx) -> str:
    """The run page of the demo deployment (default template), as its engineer."""
    return f"/deployments/{ctx['deployment'].pk}/"


def run_page_uncached(ctx) -> str:
    """The same page right after a change: its phases rendered, not from the cache."""
    return run_page(ctx)


def _clear_cache():
    from django.core.cache import cache

    cache.clear()


PAGES = {
    "run_page": run_page,
    "run_page_uncached": run_page_uncached,
}
# Run before every request of a page (also the warm-up ones).
BEFORE = {"run_page_uncached": _clear_cache}


def context() -> dict:
    from django.contrib.auth import get_user_model

    deployment = benchenv.demo_deployment()
    return {
        "deployment": deployment,
        "user": get_user_model().objects.get(username="engineer"),
        "items": deployment.items.count(),
        "events": deployment.audit_events.count(),
    }


# --- Measuring ------------------------------------------------------------------------


def pct(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def measure(client, url: str, warmup: int, requests: int, before=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    before = before or (lambda: None)
    for _ in range(warmup):
        before()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(requests):
        before()
        started = time.perf_counter()
        response = client.get(url)
        wall = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        timing = TIMING_RE.search(response.get("Server-Timing", ""))
        times.append(float(timing.group(1)) if timing else wall)
    before()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return {"ms": statistics.median(times), "p95_ms": pct(times, 95),
            "queries": len(queries.captured_queries), "bytes": len(response.content)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", action="append", choices=sorted(PAGES),
                        help="measure only this page (repeatable); default: all")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--fresh-db", action="store_true",
                        help="drop and recreate the bench database first")
    args = parser.parse_args()

    benchenv.prepare(fresh=args.fresh_db)
    benchenv.ENV["ALLOWED_HOSTS"] = "127.0.0.1,testserver"  # the test Client's host
    benchenv.setup_django()
    from django.test import Client

    ctx = context()
    client = Client()
    client.force_login(ctx["user"])

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_path = RESULTS / f"pages-{stamp}.txt"
    lines = []

    def emit(text):
        print(text, flush=True)
        lines.append(text)

    m = benchenv.machine()
    emit(f"# {' '.join(sys.argv)}")
    emit(f"# {datetime.now().isoformat(timespec='seconds')} nproc={m['nproc']} "
         f"mem_gb={m['mem_gb']} cpu={m['cpu']} calib_ms={m['calib_ms']} "
         f"load={os.getloadavg()[0]:.2f}")
    emit(f"# in-process Django test Client, bench database; items={ctx['items']} "
         f"audit_events={ctx['events']}; median of {args.requests} after {args.warmup} warm-up")
    for name in args.page or PAGES:
        result = measure(client, PAGES[name](ctx), args.warmup, args.requests,
                         BEFORE.get(name))
        emit(f"{name}_ms={result['ms']:.1f}")
        emit(f"{name}_p95_ms={result['p95_ms']:.1f}")
        emit(f"{name}_queries={result['queries']}")
        emit(f"{name}_bytes={result['bytes']}")
    emit(f"# saved {out_path.relative_to(benchenv.ROOT)}")
    out_path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
