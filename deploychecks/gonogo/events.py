"""What go/no-go announces to the features above it (statuspage, webhooks).

Handlers connect in their AppConfig.ready(), as with runs.hooks; each is called
inside the transaction of the change with the deployment row locked.
"""

from deploychecks.runs.hooks import Hook

# A rollback of the deployment was started (runs.hooks.Event).
rollback_started = Hook("rollback started")
