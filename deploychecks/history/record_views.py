"""A deployment's permanent record: one read-only, printable page.

Anyone who may see the deployment may read its record, also while it is
still running; everyone else gets a 404 (see runs.access).

The page is mostly rendered from the cache: every change to a deployment
either takes a new sequence number or appends an audit event, so the key
(sequence number, status, and a digest of the audit events' ids and hashes)
changes with anything the record shows. The audit chain itself is checked
on every view, never cached: tampering shows at once.
"""

import hashlib

from django.core.cache import cache
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from deploychecks.core.render_cache import deployment_key
from deploychecks.history.exports import FORMAT_LABELS
from deploychecks.history.record import load_events, load_record, verify_events
from deploychecks.runs import access

TEMPLATE = "history/record.html"
CACHE_SECONDS = 60 * 60


@require_GET
def record(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    events = load_events(deployment)
    chain = verify_events(events)
    time_zone = timezone.get_current_timezone_name()
    key = _cache_key(deployment, events, time_zone)
    parts = cache.get(key)
    if parts is None:
        context = {
            "deployment": deployment,
            "record": load_record(deployment, events=events, chain=chain),
        }
        parts = {
            name: str(render_to_string(f"{TEMPLATE}#{name}", context))
            for name in ("main", "timeline")
        }
        cache.set(key, parts, CACHE_SECONDS)
    return render(
        request,
        TEMPLATE,
        {
            "deployment": deployment,
            "role": role,
            "chain": chain,
            "time_zone": time_zone,
            "export_formats": FORMAT_LABELS.items(),
            # Rendered by our own autoescaping template, above or on an earlier view.
            "main": mark_safe(parts["main"]),  # noqa: S308
            "timeline": mark_safe(parts["timeline"]),  # noqa: S308
        },
    )


def _cache_key(deployment, events, time_zone: str) -> str:
    events_digest = hashlib.sha256(
        "".join(f"{e.pk}:{e.hash};" for e in events).encode()
    ).hexdigest()[:24]
    return deployment_key(
        "record", TEMPLATE, deployment, deployment.seq, deployment.status, events_digest, time_zone
    )
