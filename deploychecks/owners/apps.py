from django.apps import AppConfig


class OwnersConfig(AppConfig):
    name = "deploychecks.owners"
    label = "owners"

    def ready(self):
        from deploychecks.owners import hooks as owners
        from deploychecks.reminders import events as reminders
        from deploychecks.runs import hooks

        hooks.item_changed.connect(owners.start_phase)
        hooks.item_editors.connect(owners.owner_may_change)
        hooks.run_page.connect(owners.run_page_panel)
        reminders.dispatching.connect(owners.remind_overdue)
        hooks.slots.add("page-panels", "owners/panel.html#panel", order=40)
        hooks.slots.add("item-line-before-notes", "owners/item_meta.html", order=10)
