"""The "deployment notes" PDF: the record's essentials on paper, via WeasyPrint.

User text only reaches the PDF through an autoescaped template, and the URL
fetcher allows data: URIs alone, so nothing in a deployment (a hostile note,
an <img src=file:///etc/passwd>) can make the renderer read a file or call
out to the network.
"""

from django.template.loader import render_to_string
from django.utils import timezone

from deploychecks.history.record import DeploymentRecord


class PdfUnavailable(Exception):
    """WeasyPrint cannot load here (its system libraries are missing)."""


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: "cannot load library 'libpango…'"
        raise PdfUnavailable(str(exc)) from exc
    return weasyprint


def url_fetcher():
    """WeasyPrint's fetcher, refusing every scheme but data:."""
    return _weasyprint().URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def to_pdf(record: DeploymentRecord) -> bytes:
    """The PDF's bytes; PdfUnavailable when WeasyPrint cannot run on this machine."""
    HTML = _weasyprint().HTML
    html = render_to_string(
        "history/pdf.html",
        {
            "record": record,
            "deployment": record.deployment,
            "generated_at": timezone.now(),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )
    # No base_url: a relative URL resolves to nothing rather than to a local path.
    return HTML(string=html, base_url=None, url_fetcher=url_fetcher()).write_pdf()
