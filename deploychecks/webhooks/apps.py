from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "deploychecks.webhooks"
    label = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self):
        from deploychecks.gonogo import events as gonogo
        from deploychecks.reminders import events as reminders
        from deploychecks.runs import hooks
        from deploychecks.signoffs import events as signoffs
        from deploychecks.statusupdates import events as statusupdates
        from deploychecks.webhooks import hooks as webhooks
        from deploychecks.webhooks import tasks  # noqa: F401  see below

        hooks.deployment_created.connect(webhooks.deployment_created)
        # First: the change itself is told before what the features do about it
        # (stale sign-offs, a rollback step done, the rollback finished).
        hooks.item_changed.connect(webhooks.item_changed, first=True)
        hooks.status_changed.connect(webhooks.status_changed, first=True)
        # Last: the gate is judged once every feature has had its say.
        hooks.item_changed.connect(webhooks.judge_gate_after_item)
        hooks.status_changed.connect(webhooks.judge_new_gate)
        signoffs.signoff_changed.connect(webhooks.signoff_changed)
        gonogo.verdict_changed.connect(webhooks.verdict_changed)
        gonogo.rollback_started.connect(webhooks.rollback_started)
        gonogo.rollback_step_done.connect(webhooks.rollback_step_done)
        gonogo.rollback_finished.connect(webhooks.rollback_finished)
        reminders.reminder_sent.connect(webhooks.reminder_sent)
        statusupdates.update_posted.connect(webhooks.status_update_posted)
        # `tasks` is imported to register the task in every process (the embedded
        # scheduler of the web process runs it), as reminders do.
