import pytest

from deploychecks.audit.services import record_event, timeline

pytestmark = pytest.mark.django_db

# Deployment-less events keep these tests independent of runs.Deployment;
# timeline(None) is the timeline of events that belong to no deployment.


@pytest.fixture
def history(engineer, outsider):
    return [
        record_event(action="item.ticked", actor=engineer, target_repr="one"),
        record_event(action="note.added", actor=outsider, target_repr="two"),
        record_event(action="item.reopened", actor=outsider, target_repr="three"),
        record_event(action="deployment.status", actor=engineer, target_repr="four"),
    ]


def test_timeline_is_newest_first(history):
    assert list(timeline(None)) == history[::-1]


def test_timeline_filters_by_person(history, outsider):
    assert [e.target_repr for e in timeline(None, actor_id=outsider.pk)] == ["three", "two"]


def test_timeline_filters_by_kind_of_action(history):
    assert [e.target_repr for e in timeline(None, action_prefix="item.")] == ["three", "one"]


def test_timeline_combines_filters_and_limits(history, engineer):
    assert [e.target_repr for e in timeline(None, actor_id=engineer.pk, limit=1)] == ["four"]
