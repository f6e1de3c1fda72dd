"""An engineer who is also an approver ticks an item, then tries to approve: the
panel says which separation-of-duties rule stops them, in the browser."""

import pytest
from playwright.sync_api import expect

from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.services import assign_approver
from tests.browser.fixtures import screenshot
from tests.browser.test_signoff_flow import PASSWORD, _set_server_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_approver_who_ticked_an_item_sees_why_they_cannot_sign(
    open_as, deployment, lead, engineer, first_item, purge_audit_events
):
    _set_server_password(engineer)
    pm = deployment.signoff_roles.get(name="Product Manager")
    assign_approver(
        deployment_id=deployment.pk, role_id=pm.pk, approver=engineer, is_backup=False, user=lead
    )
    role_box = f"#signoff-role-{pm.pk}"
    erin = open_as(engineer, deployment.get_absolute_url())
    expect(erin.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    form = erin.locator(f"{role_box} form.signoff-form")
    expect(form).to_have_count(1)  # nothing done yet: she may sign

    # She works on the checklist, then tries to approve that work.
    row = f"#item-{first_item.pk}"
    erin.locator(f"{row} input[type=checkbox]").first.check()
    expect(erin.locator(row)).to_have_class("run-item state-done", timeout=5_000)
    form.get_by_label("Approve").check()
    form.get_by_label("Confirm your password").fill(PASSWORD)
    form.get_by_role("button", name="Sign as Product Manager").click()

    blocked = erin.locator(f"#signoff-blocked-{pm.pk}")
    expect(blocked).to_contain_text("You cannot sign as Product Manager.", timeout=10_000)
    expect(blocked).to_contain_text("Separation of duties (approver independence)")
    expect(blocked).to_contain_text(f"items in “{first_item.phase.title}”")
    expect(blocked).to_contain_text("audited completion override")
    expect(erin.locator(f"{role_box} form.signoff-form")).to_have_count(0)
    expect(erin.locator(role_box)).to_have_attribute("data-state", "pending")
    assert not SignOff.objects.exists()

    # Still said on a fresh load, before she tries again.
    erin.reload()
    # Once the socket is open the page resyncs (a fetch that replaces the panel):
    # data-synced says it has landed; the panel is touched after that.
    expect(erin.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    expect(erin.locator(f"#signoff-blocked-{pm.pk}")).to_contain_text(
        "approver independence", timeout=10_000
    )
    assert erin.console_errors == []
    erin.locator(role_box).scroll_into_view_if_needed()
    screenshot(erin, "signoff-independence-refused")
