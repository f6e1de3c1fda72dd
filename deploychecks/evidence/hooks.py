"""How evidence joins a deployment (registered in apps.py)."""

from django.db.models import Prefetch

from deploychecks.core import provenance
from deploychecks.evidence import services
from deploychecks.evidence.models import Evidence
from deploychecks.runs import hooks

NEEDS = "it needs evidence first. Add a link or a file under “Evidence” on the item, then tick it."


def needs_evidence(event: hooks.ItemTicking) -> list[hooks.Unmet]:
    """An item marked "evidence required" is ticked only with evidence: a link or
    a file already on it, or (through the API) a tick that carries `evidence_url`."""
    item = event.item
    if not item.evidence_required:
        return []
    if Evidence.objects.filter(item=item).exists():
        return []
    if (provenance.of_request(event.request) or {}).get("evidence_url"):
        return []
    return [
        hooks.Unmet(
            key=f"evidence:{item.pk}",
            kind="evidence",
            needs=NEEDS,
            label=item.title,
            anchor=f"item-{item.pk}-evidence",
            overridable=False,
        )
    ]


def item_evidence(_) -> Prefetch:
    """An item row lists its evidence: loaded with the items, in one query."""
    return Prefetch("evidence", queryset=Evidence.objects.order_by("created_at", "pk"))


def keep_api_evidence(event: hooks.ItemChanged) -> None:
    """A tick through the API that carries `evidence_url` (a CI run) leaves that
    link on the item as evidence, like one added on the page."""
    from_api = provenance.of_request(event.request) or {}
    url = from_api.get("evidence_url")
    if not url or event.subcheck is not None or event.item.state != "done":
        return
    services.record_link(
        event.deployment,
        event.item,
        url=url,
        title=from_api.get("job") or "Evidence from the API",
        user=event.actor,
        request=event.request,
    )
