from django import template
from django.conf import settings

from deploychecks.evidence.content import size_label

register = template.Library()


@register.simple_tag
def evidence_max_size() -> str:
    """The evidence file limit for people, as the refusal says it: "10 MB"."""
    return size_label(settings.EVIDENCE_MAX_BYTES)


@register.filter
def size(n_bytes: int) -> str:
    """A file's size in the words of the limit: "10 KB" (`filesizeformat` says "10.0 KB")."""
    return size_label(n_bytes)


@register.filter
def live_notes(notes):
    """The notes evidence may still back: not the deleted ones (their tombstones)."""
    return [note for note in notes if not note.is_deleted]
