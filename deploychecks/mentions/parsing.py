"""Finding @names in a note's text, and showing them highlighted (escaped)."""

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Django usernames: letters, digits and @.+-_ (150 at most). A mention starts
# after a space, a bracket or the start of the text (not inside an e-mail
# address), and a sentence's full stop or comma after it is not part of it.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.+-]{1,150})")


def _clean(name: str) -> str:
    return name.rstrip(".-+")


def mentioned_names(text: str) -> list[str]:
    """The @names in `text`, each once, in the order written (as typed)."""
    seen: dict[str, str] = {}
    for match in MENTION_RE.finditer(text or ""):
        name = _clean(match.group(1))
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def highlight(text: str) -> SafeString:
    """`text` escaped, with each @name in a <strong class="mention">."""
    out, last = [], 0
    text = text or ""
    for match in MENTION_RE.finditer(text):
        name = _clean(match.group(1))
        if not name:
            continue
        start, end = match.start(), match.start() + 1 + len(name)
        out.append(escape(text[last:start]))
        out.append(f'<strong class="mention">@{escape(name)}</strong>')
        last = end
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308  every piece of text is escaped above
