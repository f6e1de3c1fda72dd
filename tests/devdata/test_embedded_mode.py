"""`make run`'s embedded default: SQLite, in-memory channel layer, no servers.

The rest of the suite runs on PostgreSQL, so a query only SQLite refuses (LIMIT
inside a UNION broke every run page under `make run` once) would pass there.
This runs make run's own steps on a fresh SQLite file and opens the demo's pages.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PAGES = """
from django.test import Client
from django.contrib.auth import get_user_model
from deploychecks.runs.models import Deployment

client = Client(SERVER_NAME="localhost")
client.force_login(get_user_model().objects.filter(is_superuser=True).first())
deployments = list(Deployment.objects.all())
assert deployments, "load_demo made no deployment"
for deployment in deployments:
    url = deployment.get_absolute_url()
    for page in (url, url + "record/"):
        status = client.get(page).status_code
        assert status == 200, (page, status)
for page in ("/", "/deployments/", "/templates/", "/my-work/"):
    status = client.get(page).status_code
    assert status in (200, 302), (page, status)
print("pages-ok", len(deployments))
"""


def _manage(env, *args, stdin=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_make_runs_steps_serve_the_demo_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATA_DIR"] = str(tmp_path)  # where the embedded SQLite file goes
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for step in (("migrate", "--no-input"), ("load_demo",)):
        done = _manage(env, *step)
        assert done.returncode == 0, done.stderr[-3000:]
    done = _manage(env, "shell", stdin=PAGES)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pages-ok" in done.stdout


TICK = """
from django.contrib.auth import get_user_model
from deploychecks.runs.models import Deployment, RunItem
from deploychecks.runs import services

deployment = Deployment.objects.first()
lead = deployment.lead
item = RunItem.objects.filter(deployment=deployment, state="open").order_by("pk").first()
change = services.set_item_state(
    deployment_id=deployment.pk, item_id=item.pk, state="done",
    expected_version=item.version, user=lead,
)
assert RunItem.objects.get(pk=item.pk).state == "done"
print("tick-ok")
"""


def test_a_tick_is_saved_on_sqlite(tmp_path):
    """Ticking closes the item's overdue reminders; their query once used a JSON
    `contains` lookup that SQLite refuses, so every tick under `make run` was a 500."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATA_DIR"] = str(tmp_path)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for step in (("migrate", "--no-input"), ("load_demo",)):
        done = _manage(env, *step)
        assert done.returncode == 0, done.stderr[-3000:]
    done = _manage(env, "shell", stdin=TICK)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tick-ok" in done.stdout
