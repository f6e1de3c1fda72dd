from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the database refuses changes anyway, so offer none."""

    list_display = ("created_at", "actor_name", "action", "target_repr", "deployment_id", "seq")
    list_filter = ("action",)
    search_fields = ("actor_name", "target_repr", "request_id", "=target_id")
    ordering = ("-id",)
    # Counting a million rows on every page view is slow and tells nobody anything.
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
