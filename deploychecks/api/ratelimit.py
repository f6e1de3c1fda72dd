"""Requests per API token per minute, counted by core.ratelimit (a fixed window
in the cache, shared by every process)."""

from deploychecks.core import ratelimit
from deploychecks.core.ratelimit import WINDOW_SECONDS, Allowance

__all__ = ["WINDOW_SECONDS", "Allowance", "take"]


def take(token_key: str, limit: int, *, now: float | None = None) -> Allowance:
    """Count one request of the token `token_key` names against its `limit` per minute."""
    return ratelimit.take(f"api:{token_key}", limit, now=now)
