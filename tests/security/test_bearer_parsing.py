"""One reading of `Authorization: Bearer …` and one rate-limit window for everyone."""

import pytest

from deploychecks.core import ratelimit
from deploychecks.core.bearer import bearer_secret, scope_bearer


@pytest.mark.parametrize(
    ("header", "secret"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", ""), ("Bearer", ""), ("", "")],
)
def test_the_bearer_secret_is_read_one_way(header, secret):
    assert bearer_secret(header) == secret
    assert scope_bearer({"headers": [(b"authorization", header.encode())]}) == secret


def test_the_window_and_its_reset_are_those_take_uses():
    assert ratelimit.window_at(120.0) == (2, 60)
    assert ratelimit.window_at(179.5) == (2, 1)  # never 0: Retry-After of at least 1
