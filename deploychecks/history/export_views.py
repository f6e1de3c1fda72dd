"""Downloads of one deployment's record: Markdown, CSV, JSON and PDF.

The same access rule as the record page (runs.access): an outsider gets a
404, whichever format they ask for, and learns nothing about the deployment.
"""

import re
import unicodedata

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from deploychecks.history.exports import CONTENT_TYPES, build
from deploychecks.history.record import load_record
from deploychecks.runs import access

# Runs of anything but letters, digits, "_" and single dots become one "-".
_UNSAFE = re.compile(r"(?:[^A-Za-z0-9._]|\.{2,})+")


def export_filename(deployment, fmt: str) -> str:
    """'<service>-<version>-<pk>.<ext>', in characters safe in any header and file system."""
    # "Überweisung" becomes "Uberweisung": accents dropped, the letters kept.
    ascii_text = unicodedata.normalize("NFKD", f"{deployment.service}-{deployment.version}")
    stem = _UNSAFE.sub("-", ascii_text.encode("ascii", "ignore").decode()).strip("-.")[:100]
    return f"{stem or 'deployment'}-{deployment.pk}.{fmt}"


@require_GET
def export(request, pk, fmt):
    if fmt not in CONTENT_TYPES:
        raise Http404("Unknown export format")
    deployment, _ = access.get_deployment_for(request.user, pk)
    response = HttpResponse(build(load_record(deployment), fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = (
        f'attachment; filename="{export_filename(deployment, fmt)}"')
    # A record can hold personal data and live state: no shared caches.
    response["Cache-Control"] = "private, no-store"
    return response
