"""JSON request bodies read with limits: their size and how deeply they nest.

Python's `json.loads` recurses once per level of nesting: a 6 KB body of arrays
nested 3,000 deep raised RecursionError, a 500 (issue 13). `loads_limited`
refuses such a body before parsing it, with a message that says why.
"""

import json
import re

# The deepest nesting a body may have. Our bodies are two or three levels deep.
MAX_DEPTH = 20

# A JSON string (skipped whole, brackets inside it do not count) or a bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class BodyRefused(ValueError):
    """The body is not acceptable JSON; `status` is 400 or 413, `message` says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def nesting_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether `body` opens more than `limit` arrays or objects inside each other.

    Counting the brackets first (in C) settles most bodies at once; only one
    with more brackets than `limit` is scanned, token by token.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def loads_limited(body: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH):
    """Parse `body` as JSON, or raise BodyRefused (413 too large, 400 otherwise)."""
    if len(body) > max_bytes:
        raise BodyRefused(413, f"The body is larger than {max_bytes} bytes.")
    if nesting_depth_exceeds(body, max_depth):
        raise BodyRefused(
            400, f"The JSON nests arrays or objects more than {max_depth} levels deep."
        )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BodyRefused(400, "The body is not valid JSON.") from None
