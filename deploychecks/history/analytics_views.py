"""Placeholder: filled in by the issue 7 work."""

from django.http import Http404


def analytics(request):
    raise Http404


def chart_csv(request, chart):
    raise Http404
