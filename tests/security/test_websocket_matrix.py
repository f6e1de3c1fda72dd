"""The deployment's websocket, opened by every kind of person (the HTTP matrix's twin)."""

import pytest

from tests.security.conftest import client_for
from tests.sockets import connect_code

pytestmark = pytest.mark.django_db(transaction=True)

ACCEPTED = None
# Close codes: 4401 not logged in, 4404 no such deployment for you (as HTTP's 404).
SOCKET_MATRIX = {
    "anonymous": 4401,
    "outsider": 4404,
    "admin": 4404,
    "viewer": ACCEPTED,
    "approver": ACCEPTED,
    "engineer": ACCEPTED,
    "lead": ACCEPTED,
    "manager": ACCEPTED,
}


def test_websocket_answers_as_the_matrix_says(deployment, people, purge_audit_events):
    got = {role: connect_code(deployment.pk, client_for(user)) for role, user in people.items()}

    assert got == SOCKET_MATRIX


def test_outsider_cannot_tell_a_real_deployment_socket_from_a_missing_one(
    deployment, outsider, purge_audit_events
):
    client = client_for(outsider)

    assert connect_code(deployment.pk, client) == connect_code(deployment.pk + 10_000, client)
