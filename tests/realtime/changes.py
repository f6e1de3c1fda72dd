"""Changes to a deployment, made the one way the app makes them: through its services."""

from deploychecks.runs import services


def tick(deployment, item, user, state="done"):
    item.refresh_from_db()
    return services.set_item_state(
        deployment_id=deployment.pk,
        item_id=item.pk,
        state=state,
        expected_version=item.version,
        user=user,
    )


def add_note(deployment, item, user, body):
    return services.add_item_note(
        deployment_id=deployment.pk, item_id=item.pk, body=body, user=user
    )


def check_subcheck(deployment, subcheck, user, done=True):
    subcheck.refresh_from_db()
    return services.set_subcheck_state(
        deployment_id=deployment.pk,
        subcheck_id=subcheck.pk,
        done=done,
        expected_version=subcheck.version,
        user=user,
    )
