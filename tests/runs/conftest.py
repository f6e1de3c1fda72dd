import pytest

from deploychecks.checklists.defaults import ensure_default_template
from deploychecks.runs.services import create_deployment


@pytest.fixture
def lead(make_user):
    return make_user("lena", first_name="Lena", last_name="Lead")


@pytest.fixture
def second_engineer(make_user):
    return make_user("sam", first_name="Sam", last_name="Second")


@pytest.fixture
def viewer(make_user):
    return make_user("vic")


@pytest.fixture
def approver(make_user):
    return make_user("quinn")


@pytest.fixture
def revision(db):
    return ensure_default_template()


@pytest.fixture
def deployment(revision, lead, engineer, second_engineer, viewer, approver):
    return create_deployment(
        revision, user=lead, release_name="Spring release", version="2.0.0",
        previous_version="1.1.0", service="checkout-api", lead=lead,
        engineers=[engineer, second_engineer], approvers={approver: "QA Lead"},
        viewers=[viewer],
    )


@pytest.fixture
def first_item(deployment):
    return deployment.items.order_by("phase__position", "position").first()
