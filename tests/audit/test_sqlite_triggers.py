"""The append-only triggers on SQLite, through the real migrations.

The suite runs on PostgreSQL, so this test migrates a fresh SQLite database in
a child process (no DATABASE_URL, DATA_DIR in a temporary directory: the
project's embedded mode) and exercises it through the ORM there.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json
import django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import record_event, verify_chain

call_command("migrate", verbosity=0)
user = get_user_model().objects.create_user("erin")
event = record_event(action="item.ticked", actor=user, after={"state": "done", "n": 1.0})
record_event(action="item.reopened", actor=user, before={"state": "done"})

def refused(change):
    try:
        with transaction.atomic():
            change()
    except DatabaseError as exc:
        return str(exc)
    return "allowed"

def save_changed():
    changed = AuditEvent.objects.get(pk=event.pk)
    changed.after = {"state": "open"}
    changed.save()

results = {
    "vendor": connection.vendor,
    "save": refused(save_changed),
    "update": refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(action="x.y")),
    "clear_actor_and_more": refused(
        lambda: AuditEvent.objects.filter(pk=event.pk).update(actor=None, actor_name="m")),
    "delete": refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete()),
}
user.delete()
event.refresh_from_db()
results["after_user_delete"] = [event.actor_id, event.actor_name]
results["verify"] = list(verify_chain()[:2])
print(json.dumps(results))
"""


def test_sqlite_triggers_refuse_update_and_delete_but_allow_set_null(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="deploychecks.settings")

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["vendor"] == "sqlite"
    for change in ("save", "update", "clear_actor_and_more", "delete"):
        assert results[change] == "audit_event is append-only", change
    assert results["after_user_delete"] == [None, "erin"]
    assert results["verify"] == [True, 2]
