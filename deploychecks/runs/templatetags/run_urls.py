"""`{% run_url %}`: `{% url %}` for the run page's hundreds of per-item links.

`{% url %}` goes through the URL resolver on every call; the run page has about
300 of them per request, a third of the checklist's render time. This reverses
each pattern once (per script prefix) with marker arguments and then only fills
in the arguments. Integer arguments only, which is what the run URLs take.
"""

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse

register = template.Library()

_MARKERS = (731000000001, 731000000002, 731000000003)


@lru_cache(maxsize=128)
def _pattern(name: str, nargs: int, prefix: str) -> str:
    url = reverse(name, args=_MARKERS[:nargs]).replace("{", "{{").replace("}", "}}")
    for i, marker in enumerate(_MARKERS[:nargs]):
        url = url.replace(str(marker), f"{{{i}}}")
    return url


@register.simple_tag
def run_url(name: str, *args: int) -> str:
    """The same URL as `{% url name *args %}` for integer arguments."""
    return _pattern(name, len(args), get_script_prefix()).format(*(int(a) for a in args))
