#!/usr/bin/env python3
"""Server time of the app's pages, in-process through Django's test Client.

The run pages use the bench PostgreSQL database (created, migrated and loaded
with the demo data if needed, as bench/fanout.py does). The history pages
(the list, a deployment's record, analytics) use `deploychecks_bench_history`:
the demo data plus 10,000 deployments with about 1.4 million audit events,
seeded once by `manage.py seed_history` (several minutes the first time, with a
progress bar; later runs reuse it). Each page is requested --warmup times, then
--requests times as a logged-in user (the demo engineer on the run pages, the
demo manager on the history pages); the time is the whole Django stack (every
middleware, the view, the template) without HTTP parsing or network, taken from
the app's `Server-Timing` header. Prints `<page>_ms=` (median), `<page>_p95_ms=`,
`<page>_queries=`, `<page>_bytes=` and `<page>_gzip_bytes=` per page.

    .venv/bin/python bench/pages.py                    # every page, both databases
    .venv/bin/python bench/pages.py --history          # history_ms, record_ms, analytics_ms…
    .venv/bin/python bench/pages.py --page run_page --requests 100
    .venv/bin/python bench/pages.py --history --seed-history 2000 --fresh-db   # smaller

`--fresh-db` drops and recreates the database of the pages measured (for the
history database: seeds it again, minutes). Pages of both databases in one
call run as one child process per database.

To add a page: write a function `(ctx) -> url`, register it in PAGES, and in
HISTORY_PAGES if it needs the seeded history.
"""

import argparse
import gzip
import math
import os
import re
import statistics
import subprocess
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


def run_page_after_tick(ctx) -> str:
    """The same page right after a tick by someone else (through the service, with
    its broadcast): the phases are rendered again, the item rows mostly come from
    their cache. What every viewer's next full load costs during a deployment."""
    return run_page(ctx)


def run_page_uncached(ctx) -> str:
    """The same page with the whole cache cleared first: phases and every row rendered."""
    return run_page(ctx)


def _clear_cache(ctx):
    from django.core.cache import cache

    cache.clear()


def _tick(ctx):
    """Flip one item of the demo deployment as the lead, broadcast included."""
    from django.contrib.auth import get_user_model

    from deploychecks.runs.models import RunItem
    from deploychecks.runs.services import set_item_state

    item = (
        RunItem.objects.filter(deployment=ctx["deployment"])
        .exclude(state="na")
        .order_by("pk")
        .first()
    )
    set_item_state(
        deployment_id=item.deployment_id,
        item_id=item.pk,
        state="open" if item.state == "done" else "done",
        expected_version=item.version,
        user=get_user_model().objects.get(username="lead"),
    )


def history(ctx) -> str:
    """The history list as a manager: newest first, first page, no filter."""
    return "/deployments/"


def history_filtered(ctx) -> str:
    """The history list searched (releases, versions and notes) and filtered by outcome."""
    return "/deployments/?q=hotfix&outcome=completed"


def record(ctx) -> str:
    """The record page of a completed seeded deployment with a typical number of events."""
    return f"/deployments/{ctx['record'].pk}/record/"


def record_uncached(ctx) -> str:
    """The same record with the cache cleared first (its first view after a change)."""
    return record(ctx)


def analytics(ctx) -> str:
    """The analytics page over all deployments, as a manager (its figures cached)."""
    return "/analytics/"


def analytics_uncached(ctx) -> str:
    """The same page with its cache cleared before each request."""
    return analytics(ctx)


PAGES = {
    "run_page": run_page,
    "run_page_after_tick": run_page_after_tick,
    "run_page_uncached": run_page_uncached,
    "history": history,
    "history_filtered": history_filtered,
    "record": record,
    "record_uncached": record_uncached,
    "analytics": analytics,
    "analytics_uncached": analytics_uncached,
}
# Pages measured on the seeded history database.
HISTORY_PAGES = {
    "history",
    "history_filtered",
    "record",
    "record_uncached",
    "analytics",
    "analytics_uncached",
}
# Run before every request of a page (also the warm-up ones).
BEFORE = {
    "run_page_after_tick": _tick,
    "run_page_uncached": _clear_cache,
    "record_uncached": _clear_cache,
    "analytics_uncached": _clear_cache,
}


def context() -> dict:
    from django.contrib.auth import get_user_model

    deployment = benchenv.demo_deployment()
    return {
        "deployment": deployment,
        "user": get_user_model().objects.get(username="engineer"),
        "items": deployment.items.count(),
        "events": deployment.audit_events.count(),
    }


def history_context() -> dict:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from deploychecks.audit.models import AuditEvent
    from deploychecks.runs.models import Deployment

    # The completed deployment with the median number of events among the first 201.
    first = (
        Deployment.objects.filter(status="completed")
        .order_by("pk")
        .values_list("pk", flat=True)[:201]
    )
    candidates = sorted(
        Deployment.objects.filter(pk__in=list(first)).annotate(events=Count("audit_events")),
        key=lambda d: (d.events, d.pk),
    )
    chosen = candidates[len(candidates) // 2]
    return {
        "record": chosen,
        "user": get_user_model().objects.get(username="manager"),
        "items": chosen.items.count(),
        "events": chosen.events,
        "deployments": Deployment.objects.count(),
        "all_events": AuditEvent.objects.count(),
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
    return {
        "ms": statistics.median(times),
        "p95_ms": pct(times, 95),
        "queries": len(queries.captured_queries),
        "bytes": len(response.content),
        # About what GZipMiddleware sends a browser that asks for gzip.
        "gzip_bytes": len(gzip.compress(response.content, compresslevel=6)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--page",
        action="append",
        choices=list(PAGES),
        help="measure only this page (repeatable); default: all",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="measure the history pages only (default with --page: those named)",
    )
    parser.add_argument(
        "--seed-history",
        type=int,
        default=benchenv.HISTORY_DEPLOYMENTS,
        metavar="N",
        help="at least N deployments in the history database "
        f"(default {benchenv.HISTORY_DEPLOYMENTS:,}); missing ones are seeded "
        "first",
    )
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--fresh-db",
        action="store_true",
        help="drop and recreate the database of the pages measured first",
    )
    args = parser.parse_args()

    names = args.page or [n for n in PAGES if n in HISTORY_PAGES or not args.history]
    on_history = [n for n in names if n in HISTORY_PAGES]
    if on_history and len(on_history) < len(names):
        # Django talks to one database per process: one child per database.
        common = [
            f"--requests={args.requests}",
            f"--warmup={args.warmup}",
            f"--seed-history={args.seed_history}",
        ] + (["--fresh-db"] if args.fresh_db else [])
        for group in ([n for n in names if n not in HISTORY_PAGES], on_history):
            pages = [f"--page={n}" for n in group]
            subprocess.run([sys.executable, __file__, *common, *pages], check=True)
        return

    if on_history:
        benchenv.prepare_history(args.seed_history, fresh=args.fresh_db)
    else:
        benchenv.prepare(fresh=args.fresh_db)
    benchenv.ENV["ALLOWED_HOSTS"] = "127.0.0.1,testserver"  # the test Client's host
    benchenv.setup_django()
    from django.test import Client

    ctx = history_context() if on_history else context()
    client = Client()
    client.force_login(ctx["user"])

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_path = RESULTS / f"pages-{stamp}{'-history' if on_history else ''}.txt"
    lines = []

    def emit(text):
        print(text, flush=True)
        lines.append(text)

    m = benchenv.machine()
    emit(f"# {' '.join(sys.argv)}")
    emit(
        f"# {datetime.now().isoformat(timespec='seconds')} nproc={m['nproc']} "
        f"mem_gb={m['mem_gb']} cpu={m['cpu']} calib_ms={m['calib_ms']} "
        f"load={os.getloadavg()[0]:.2f}"
    )
    if on_history:
        emit(
            f"# in-process Django test Client, history bench database "
            f"({benchenv.HISTORY_DB}): deployments={ctx['deployments']} "
            f"audit_events={ctx['all_events']}; record of deployment {ctx['record'].pk}: "
            f"items={ctx['items']} audit_events={ctx['events']}; as a manager; median of "
            f"{args.requests} after {args.warmup} warm-up"
        )
    else:
        emit(
            f"# in-process Django test Client, bench database; items={ctx['items']} "
            f"audit_events={ctx['events']}; median of {args.requests} after {args.warmup} "
            "warm-up"
        )
    for name in names:
        before = BEFORE.get(name)
        result = measure(
            client,
            PAGES[name](ctx),
            args.warmup,
            args.requests,
            before and (lambda before=before: before(ctx)),
        )
        emit(f"{name}_ms={result['ms']:.1f}")
        emit(f"{name}_p95_ms={result['p95_ms']:.1f}")
        emit(f"{name}_queries={result['queries']}")
        emit(f"{name}_bytes={result['bytes']}")
        emit(f"{name}_gzip_bytes={result['gzip_bytes']}")
    emit(f"# saved {out_path.relative_to(benchenv.ROOT)}")
    out_path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
