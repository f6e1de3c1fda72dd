"""Downloads of one deployment's record: Markdown, CSV, JSON and PDF.

The same access rule as the record page (runs.access): an outsider gets a
404, whichever format they ask for, and learns nothing about the deployment.
"""

import logging
import re
import unicodedata

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from deploychecks.history.exports import CONTENT_TYPES, build
from deploychecks.history.exports_pdf import PdfUnavailable
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


logger = logging.getLogger("deploychecks.history")
PDF_UNAVAILABLE = (
    "The PDF export is unavailable on this server: WeasyPrint cannot load its system "
    "libraries (on Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
    "libharfbuzz-subset0 fonts-dejavu-core). The Markdown, CSV and JSON exports work.\n"
)


@require_GET
def export(request, pk, fmt):
    if fmt not in CONTENT_TYPES:
        raise Http404("Unknown export format")
    deployment, _ = access.get_deployment_for(request.user, pk)
    try:
        content = build(load_record(deployment), fmt)
    except PdfUnavailable as exc:
        logger.error("PDF export unavailable: %s", exc)
        return HttpResponse(PDF_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{export_filename(deployment, fmt)}"'
    # A record can hold personal data and live state: no shared caches.
    response["Cache-Control"] = "private, no-store"
    return response
