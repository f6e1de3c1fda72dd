"""Is a piece of HTML inert? No script, no event handler, no dangerous URL."""

import re
from html.parser import HTMLParser

# Script, attribute and URL payloads, and a few classic variants of each.
SCRIPT = "<script>alert('s')</script>"
ATTRIBUTE = '" onmouseover="alert(1)'
ATTRIBUTE_SINGLE = "' onfocus='alert(2)' autofocus='"
URL = "javascript:alert(3)"
IMAGE = "<img src=x onerror=alert(4)>"
SVG = "<svg onload=alert(5)>"
MARKDOWN_LINK = "[click me](javascript:alert(6))"
MARKDOWN_AUTOLINK = "<javascript:alert(7)>"
DATA_LINK = "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg4KTwvc2NyaXB0Pg==)"
PAYLOADS = [
    SCRIPT,
    ATTRIBUTE,
    ATTRIBUTE_SINGLE,
    URL,
    IMAGE,
    SVG,
    MARKDOWN_LINK,
    MARKDOWN_AUTOLINK,
    DATA_LINK,
]
ALL = " ".join(PAYLOADS)

_URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "background",
    "hx-get",
    "hx-post",
    "hx-put",
    "hx-delete",
    "hx-patch",
}
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
_BAD_TAGS = {"svg", "iframe", "object", "embed", "img", "math", "base", "meta", "style", "link"}


class _Checker(HTMLParser):
    def __init__(self, allowed_tags):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.allowed_tags = allowed_tags

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"<script> without a static src: {attrs}")
        if tag in _BAD_TAGS and tag not in self.allowed_tags:
            self.problems.append(f"<{tag}> element: {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in ("style", "srcdoc", "autofocus"):
                self.problems.append(f"{name} attribute on <{tag}>")
            if name in _URL_ATTRIBUTES and value:
                squeezed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                if squeezed.startswith(_BAD_SCHEMES):
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def problems(html: str, *, allowed_tags=frozenset({"meta", "link"})) -> list[str]:
    """What in `html` could run script; an empty list means inert.

    <meta> and <link> are allowed in whole pages (the head has them); the
    attribute checks still apply to them.
    """
    checker = _Checker(allowed_tags)
    checker.feed(html)
    checker.close()
    return checker.problems


def assert_inert(html: str, where: str, *, fragment=False) -> None:
    found = problems(html, allowed_tags=frozenset() if fragment else {"meta", "link"})
    assert not found, f"{where} is not inert:\n" + "\n".join(found)
