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
