"""A seed deployment as a team has it a little way in: owners and due times on
some items, two ticked, a note, a status update, the public status page on.
For the run page's layout, accessibility and screenshot tests."""

from deploychecks.owners import services as owners
from deploychecks.runs.services import add_item_note, set_item_state
from deploychecks.statuspage import services as statuspage
from deploychecks.statusupdates import services as statusupdates
from tests.browser.threads import in_thread


def furnish(deployment, lead, engineer):
    """Owners, due times, two ticks, a note and a status update; returns the public page."""

    def work():
        items = list(deployment.items.order_by("phase__position", "position")[:6])
        owners.set_assignment(
            deployment_id=deployment.pk,
            item_id=items[0].pk,
            owners=f"@{engineer.username}",
            due="1h after phase start",
            user=lead,
        )
        owners.set_assignment(
            deployment_id=deployment.pk,
            item_id=items[2].pk,
            owners=f"@{engineer.username} @{lead.username}",
            due="2h after phase start",
            user=lead,
        )
        for item in items[:2]:
            item.refresh_from_db()
            set_item_state(
                deployment_id=deployment.pk,
                item_id=item.pk,
                state="done",
                expected_version=item.version,
                user=engineer,
            )
        add_item_note(
            deployment_id=deployment.pk,
            item_id=items[2].pk,
            body="Coverage report attached to the release ticket.",
            user=engineer,
        )
        statusupdates.post_update(
            deployment_id=deployment.pk,
            user=lead,
            body="Preparation on track: **2 of 15** checks done, no blockers.",
            rag="green",
            public=True,
        )
        return statuspage.enable(deployment_id=deployment.pk, user=lead)

    return in_thread(work)
