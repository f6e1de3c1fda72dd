from django.apps import AppConfig


class SignoffsConfig(AppConfig):
    name = "deploychecks.signoffs"
    label = "signoffs"

    def ready(self):
        from deploychecks.runs import hooks
        from deploychecks.signoffs import hooks as signoffs

        hooks.deployment_created.connect(signoffs.assign_initial_approvers)
        hooks.item_changed.connect(signoffs.invalidate_on_change)
        hooks.status_changing.connect(signoffs.signoff_guard)
        hooks.run_page.connect(signoffs.run_page_panel)
        hooks.slots.add("page-panels", "signoffs/panel.html#panel", order=30)
