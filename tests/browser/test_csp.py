"""The Content-Security-Policy holds in a real browser: the main pages, the
live socket, htmx swaps and a tick report no violation.

Violations are caught two ways: Chromium's console messages ("Refused to …
Content Security Policy …") and `securitypolicyviolation` events recorded by an
init script (Playwright injects it through the browser, so the policy does not
block it).
"""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " +
                    e.sourceFile + ":" + e.lineNumber);
});
"""
# A table with aligned columns: Markdown renders alignment, which must not
# become an inline style (the policy would refuse it).
ALIGNED_TABLE = """# Aligned

## Thresholds

| Signal | Red |
|:--|--:|
| Errors | >1 |

## Phase (now)

- [ ] **Check it**
"""


def _watch(page):
    page.csp_console = []
    page.on(
        "console",
        lambda m: (
            ("Content Security Policy" in m.text or "Refused to" in m.text)
            and page.csp_console.append(m.text)
        ),
    )
    page.context.add_init_script(RECORD_VIOLATIONS)


def _violations(page) -> list[str]:
    return page.csp_console + page.evaluate("window.__csp || []")


def _visit(page, url) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_timeout(150)  # violations are reported while the page loads and htmx starts
    return _violations(page)


def test_main_pages_report_no_csp_violation(
    open_as, live_server_url, deployment, lead, first_item, revision, purge_audit_events
):
    from deploychecks.accounts.groups import ensure_groups
    from deploychecks.checklists.parser import parse_checklist
    from deploychecks.checklists.services import save_template

    ensure_groups()
    lead.groups.add(Group.objects.get(name="admins"))  # to see the import page too
    aligned = save_template(parse_checklist(ALIGNED_TABLE), user=lead, source=ALIGNED_TABLE)
    page = open_as(lead, reverse("history:list"))
    _watch(page)
    base = live_server_url
    found = {}
    for name, path in [
        ("deployments list", reverse("history:list")),
        ("templates list", reverse("checklists:list")),
        ("template detail", reverse("checklists:detail", args=[revision.template_id])),
        ("template with aligned table", reverse("checklists:detail", args=[aligned.template_id])),
        ("import page", reverse("checklists:import")),
        ("settings page", reverse("runs:settings", args=[deployment.pk])),
        ("new deployment", reverse("runs:create")),
        ("password change", reverse("password_change")),
    ]:
        found[name] = _visit(page, base + path)

    # htmx swap: the import preview.
    page.goto(base + reverse("checklists:import"))
    page.fill("textarea[name=markdown_text]", ALIGNED_TABLE)
    page.click("button[value=preview]")
    expect(page.locator("#preview h2")).to_contain_text("Preview: Aligned")
    found["import preview (htmx)"] = _violations(page)

    # The run page: the websocket opens (connect-src) and a tick swaps a row.
    _visit(page, base + deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    page.locator(f"#item-{first_item.pk} input[type=checkbox]").first.check()
    expect(page.locator(f"#item-{first_item.pk}")).to_have_class(
        "run-item state-done", timeout=5_000
    )
    found["run page with a tick"] = _violations(page)

    # Settings: add a participant through htmx.
    _visit(page, base + reverse("runs:settings", args=[deployment.pk]))
    page.select_option("#id_user", index=1)
    page.select_option("#id_role", "viewer")
    page.locator("#participants form.inline-form button.primary").click()
    expect(page.locator("#participants .message")).to_be_visible()
    found["settings with an htmx change"] = _violations(page)
    screenshot(page, "settings-page")

    assert all(not v for v in found.values()), found
    assert page.console_errors == []


def test_login_page_reports_no_csp_violation_and_the_policy_is_enforced(browser, live_server_url):
    context = browser.new_context()
    page = context.new_page()
    try:
        _watch(page)
        assert _visit(page, live_server_url + reverse("login")) == []

        # The control: an inline script really is refused (so silence above means something).
        page.evaluate("""() => { const s = document.createElement('script');
                          s.textContent = 'window.__ran = true'; document.body.append(s); }""")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__ran === true") is False
        assert any("script-src" in v for v in _violations(page))
    finally:
        context.close()


def test_a_swap_never_copies_a_style_attribute(
    open_as, deployment, engineer, first_item, purge_audit_events
):
    """htmx settles a swapped element by copying the old one's settle attributes
    onto the new one first; with `style` among them, an old `style=""` (left by any
    script that set and cleared a style through the CSSOM, which the policy allows)
    was set as an attribute, which the policy refuses: the intermittent
    "Applying inline style violates … style-src" errors. `style` is not settled."""
    page = open_as(engineer, deployment.get_absolute_url())
    _watch(page)
    page.reload()
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    row = page.locator(f"#item-{first_item.pk}")
    for element in (row, page.locator(f"#item-{first_item.pk}-check")):
        element.evaluate("el => { el.style.color = 'red'; el.style.color = ''; }")
    assert row.get_attribute("style") == ""
    page.locator(f"#item-{first_item.pk}-check").check()
    expect(row).to_have_class("run-item state-done", timeout=5_000)
    page.wait_for_timeout(200)  # htmx settles 20 ms after the swap
    assert _violations(page) == []
