from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def evidence_max_mb() -> str:
    """The evidence file limit for people: "10 MB"."""
    return f"{settings.EVIDENCE_MAX_BYTES / (1024 * 1024):.3g} MB"
