from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "deploychecks.evidence"
    label = "evidence"
    verbose_name = "Evidence"

    def ready(self):
        from deploychecks.evidence import hooks as evidence
        from deploychecks.runs import hooks

        hooks.item_ticking.connect(evidence.needs_evidence)
        hooks.item_rows.connect(evidence.item_evidence)
        hooks.item_changed.connect(evidence.keep_api_evidence)
        hooks.slots.add("item-line", "evidence/item_badge.html", order=10)
        hooks.slots.add("item-more", "evidence/item.html", order=10)
