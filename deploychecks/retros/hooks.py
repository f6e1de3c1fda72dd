"""Where the retrospective's metrics come from: the deployment's record.

The record (deploychecks.history) sits above this app (it shows a published
retrospective and counts its follow-ups), so it hands its computation down:
history's AppConfig.ready() connects one handler to `record_metrics`, which
takes a deployment and returns its figures (a JSON-ready dict). The
retro page shows exactly those figures, so they equal the record's by
construction.
"""

from deploychecks.runs.hooks import Hook

# Handlers take a Deployment and return its metrics (a JSON-ready dict).
record_metrics = Hook("retrospective metrics (from the record)")


def metrics_of(deployment) -> dict:
    for answer in record_metrics.send(deployment):
        if answer is not None:
            return answer
    return {}
