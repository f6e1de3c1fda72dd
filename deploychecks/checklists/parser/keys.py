"""Stable keys for items: what the API and the CLI address an item by.

An item's key is the slug of its title ("**All tests passing**" → all-tests-passing)
unless its Markdown names one in an HTML comment on its first line, which
GitHub does not show:

    - [ ] **All tests passing** <!-- key: tests -->

Keys are unique per deployment: explicit keys first, then each title's slug in
document order, "-2", "-3"… appended where it is taken. A template stores only
the explicit keys (an edited title then keeps a key the team chose); a
deployment stores every item's key when it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.text import slugify

from deploychecks.checklists.parser.model import ChecklistParseError
from deploychecks.checklists.parser.text import plain

KEY_MAX = 80
KEY_PATTERN = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
KEY_RE = re.compile(rf"^{KEY_PATTERN}$")
_COMMENT_KEY_RE = re.compile(r"<!--\s*key\s*:\s*(?P<key>\S*?)\s*-->", re.I)
_SLUG_MAX = 60


def explicit_key(first_line: str, line: int = 0) -> str:
    """The key named by `<!-- key: … -->` in an item's first line, or ""."""
    match = _COMMENT_KEY_RE.search(first_line)
    if not match:
        return ""
    key = match.group("key")
    if not KEY_RE.match(key) or len(key) > KEY_MAX:
        raise ChecklistParseError(
            f"the item key “{key[:KEY_MAX]}” is not valid: use lowercase letters, digits and "
            f"single hyphens or underscores, at most {KEY_MAX} characters",
            line or None,
        )
    return key


def slug_key(title: str) -> str:
    """The default key of an item called `title` ("item" for a title with no letters)."""
    slug = slugify(plain(title))[:_SLUG_MAX].strip("-_")
    return slug or "item"


def assign_keys(entries: Iterable[tuple[str, str]]) -> list[str]:
    """Keys for items given as (explicit key or "", title), in document order."""
    entries = list(entries)
    taken = {key for key, _ in entries if key}
    keys = []
    for key, title in entries:
        if not key:
            base = slug_key(title)
            key, n = base, 1
            while key in taken:
                n += 1
                key = f"{base}-{n}"
            taken.add(key)
        keys.append(key)
    return keys


def check_unique(items: Iterable) -> None:
    """Refuse a checklist that gives two items the same explicit key (a key names
    one item: a pipeline that ticks it must not tick another)."""
    seen: dict[str, int] = {}
    for item in items:
        if not item.key:
            continue
        if item.key in seen:
            raise ChecklistParseError(
                f"the key “{item.key}” names two items (lines {seen[item.key]} and {item.line})",
                item.line or None,
            )
        seen[item.key] = item.line
