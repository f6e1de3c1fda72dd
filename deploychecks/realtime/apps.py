from django.apps import AppConfig
from django.conf import settings


class RealtimeConfig(AppConfig):
    name = "deploychecks.realtime"
    label = "realtime"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_save

        from deploychecks.realtime.session_watch import on_logout, on_user_saved

        # Sockets close when their session ends (realtime/session_watch.py).
        user_logged_out.connect(on_logout, dispatch_uid="realtime.session_watch.logout")
        post_save.connect(
            on_user_saved,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="realtime.session_watch.user_saved",
        )
