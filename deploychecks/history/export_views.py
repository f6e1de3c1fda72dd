"""Placeholder: filled in by the issue 7 work."""

from django.http import Http404


def export(request, pk, fmt):
    raise Http404
