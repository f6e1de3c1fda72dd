"""The three calls runs.services makes into go/no-go, rollback and the status page.

Each runs inside the caller's transaction with the deployment row locked.
"""

from deploychecks.gonogo import definitions, rollback


def deployment_created(deployment, revision) -> None:
    definitions.copy_signals_to_deployment(deployment, revision)


def item_changed(deployment, item, *, user, request=None) -> None:
    rollback.item_changed(deployment, item, user=user, request=request)


def status_changed(deployment, before: str, to: str, *, user, request=None) -> None:
    rollback.status_changed(deployment, before, to, user=user, request=request)
