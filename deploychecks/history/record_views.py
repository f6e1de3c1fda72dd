"""Placeholder: filled in by the issue 7 work."""

from django.http import Http404


def record(request, pk):
    raise Http404
