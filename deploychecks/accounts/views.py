import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils import timezone


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with links built from SITE_URL rather than the request's Host header."""

    def form_valid(self, form):
        self.extra_email_context = {
            "site_url": settings.SITE_URL,
            "timeout_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        }
        return super().form_valid(form)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response: say plainly when the next try is allowed.

    Every failed attempt during the lockout restarts the cool-off
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so it ends one cool-off
    from now.
    """
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = math.ceil(cooloff.total_seconds() / 60)
    response = render(
        request,
        "registration/locked_out.html",
        {
            "retry_at": timezone.now() + cooloff,
            "cooloff_minutes": minutes,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )
    response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response
