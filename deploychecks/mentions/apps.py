from django.apps import AppConfig


class MentionsConfig(AppConfig):
    """@name in a note tells that person, through the reminder channels."""

    name = "deploychecks.mentions"
    label = "mentions"

    def ready(self):
        from deploychecks.mentions import hooks as mentions
        from deploychecks.mentions.parsing import highlight
        from deploychecks.runs import hooks

        hooks.note_saved.connect(mentions.notify_mentioned)
        hooks.set_note_text(highlight)
