"""`{% provenance via %}`: "by CI · GitHub Actions run 1234 · a1b2c3d", linked."""

from django import template
from django.utils.html import format_html, format_html_join

from deploychecks.core import provenance as rules

register = template.Library()


@register.simple_tag
def provenance(via):
    pieces = rules.parts(via)
    if not pieces:
        return ""
    inner = format_html_join(
        " · ",
        "{}",
        (
            (
                format_html('<a href="{}" rel="noopener noreferrer nofollow">{}</a>', url, text)
                if url
                else text,
            )
            for text, url in pieces
        ),
    )
    return format_html('<span class="provenance">{}</span>', inner)
