"""User text is Markdown; it is rendered, then sanitised, so no script survives."""

import html
import re
from functools import lru_cache

import nh3
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)

_TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
# Table alignment becomes a class: the Content-Security-Policy forbids inline styles.
_ALIGN_STYLE = re.compile(r' style="text-align:(left|center|right)"')
_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}


@lru_cache(maxsize=4096)
def _render(text: str) -> str:
    html = _ALIGN_STYLE.sub(r' class="align-\1"', _md.render(text))
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        allowed_classes={"th": _ALIGN_CLASSES, "td": _ALIGN_CLASSES},
    )


def render_markdown(text: str) -> SafeString:
    """Markdown to sanitised HTML, safe to put in a page or a websocket fragment."""
    if not text:
        return mark_safe("")
    return mark_safe(_render(text))  # noqa: S308 - sanitised by nh3 above


@lru_cache(maxsize=8192)
def _render_inline(text: str) -> str:
    return nh3.clean(_md.renderInline(text), tags={"em", "strong", "code", "del"}, attributes={})


def render_inline(text: str) -> SafeString:
    """A one-line title: Markdown inline syntax only, sanitised.

    Cached like `_render`: the run page renders every title on every request.
    """
    if not text:
        return mark_safe("")
    return mark_safe(_render_inline(text))  # noqa: S308 - sanitised by nh3 above


@lru_cache(maxsize=8192)
def plain_text(text: str) -> str:
    """A title's words without its Markdown ("**Update DNS**" → "Update DNS"),
    for lists, labels and messages that are not HTML."""
    return html.unescape(strip_tags(_render_inline(text or ""))).strip()
