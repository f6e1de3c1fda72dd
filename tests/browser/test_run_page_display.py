"""The run page as a first real team met it: on a phone, with the keyboard, with
hostile text. Each test failed before its fix (issue 12, section 4)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deploychecks.runs.services import add_item_note, set_item_state
from deploychecks.signoffs import services as signoffs
from tests import gates
from tests.browser.threads import in_thread as _in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 667}
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: reverses what follows, up to the paragraph's end


@pytest.fixture(autouse=True)
def _audit(purge_audit_events):
    """Every test here writes audit events."""


def _open(open_as, user, deployment, **viewport):
    page = open_as(user, deployment.get_absolute_url(), **viewport)
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    return page


def _box(page, selector):
    locator = page.locator(selector).first
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    if box is None:  # replaced by a live update just then: the fresh one
        box = locator.bounding_box()
    return box


# --- Display -----------------------------------------------------------------------------


def test_a_long_unbroken_note_wraps_on_a_phone(open_as, deployment, engineer, first_item):
    url = "https://grafana.example.com/d/checkout?" + "&panel=latency-p95-by-region" * 12
    add_item_note(deployment_id=deployment.pk, item_id=first_item.pk, body=url, user=engineer)

    page = _open(open_as, engineer, deployment, **PHONE)
    page.locator(f"#item-{first_item.pk}-more > summary").click()  # notes open with the line

    note = _box(page, f"#item-{first_item.pk} .notes-thread li")
    item = _box(page, f"#item-{first_item.pk}")
    assert note["x"] + note["width"] <= item["x"] + item["width"] + 0.5
    # Nothing on the page scrolls it sideways (the signals table scrolls in place).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_stale_badge_stays_inside_its_card_on_a_phone(
    open_as, deployment, lead, approver, engineer, first_item
):
    qa = deployment.signoff_roles.get(name="QA Lead")
    qa.name = "Quality Assurance"  # as long as the default's "Engineering Manager"
    qa.save(update_fields=["name"])
    signoffs.sign_off(
        deployment_id=deployment.pk,
        role_id=qa.pk,
        user=approver,
        decision="approve",
        request=gates.confirmed_request(approver),
        expected_hash=signoffs.checklist_hash(deployment.pk),
    )
    set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )

    page = _open(open_as, lead, deployment, width=320, height=640)

    card = f"#signoff-role-{qa.pk}"
    expect(page.locator(f"{card} .signoff-state")).to_have_text("Stale — sign again")
    badge, box = _box(page, f"{card} .signoff-state"), _box(page, card)
    panel = _box(page, "#signoff-panel")
    assert box["x"] <= badge["x"]
    assert badge["x"] + badge["width"] <= box["x"] + box["width"]
    assert box["x"] + box["width"] <= panel["x"] + panel["width"]


def test_a_right_to_left_override_in_user_text_cannot_reverse_the_header(
    open_as, deployment, engineer, first_item
):
    deployment.release_name = f"Spring {RLO}release"
    deployment.save(update_fields=["release_name"])
    add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body=f"{RLO}looks fine", user=engineer
    )

    page = _open(open_as, engineer, deployment)

    # Where the first and last letters of a text are drawn: left to right unless
    # an override from the text before it leaked into it.
    order = """([selector, text]) => {
        const root = document.querySelector(selector);
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode()) && !node.data.includes(text)) {}
        const at = node.data.indexOf(text), range = document.createRange();
        const x = (i) => { range.setStart(node, i); range.setEnd(node, i + 1);
                           return range.getBoundingClientRect().x; };
        return [x(at), x(at + text.length - 1)];
    }"""
    first, last = page.evaluate(order, ["h1", "checkout-api"])
    assert first < last, "the service name after the release name is drawn reversed"
    first, last = page.evaluate(order, [f"#item-{first_item.pk} .notes-thread", "erin"])
    assert first < last, "the note's author is drawn reversed"


def test_live_since_counts_up_without_a_reload(open_as, browser, deployment, lead, engineer):
    _in_thread(lambda: gates.go_live(deployment, lead))
    page = open_as(engineer, "/healthz")
    page.clock.install(time=timezone.now())
    page.goto(page.url.replace("/healthz", deployment.get_absolute_url()))
    live = page.locator("#run-header .live-since")
    expect(live).to_have_text("went live 0 minutes ago")

    page.clock.run_for(int(timedelta(minutes=3, seconds=5).total_seconds() * 1000))

    expect(live).to_have_text("went live 3 minutes ago")


# --- Keyboard ----------------------------------------------------------------------------


def test_the_first_tab_reaches_a_link_that_skips_to_the_checklist(
    open_as, deployment, engineer, first_item
):
    page = _open(open_as, engineer, deployment)

    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the checklist")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")

    # Past the header, the go/no-go and the sign-offs: in the first phase.
    focused = page.evaluate("document.activeElement.closest('details.phase')?.id")
    assert focused == f"phase-{first_item.phase_id}"


@pytest.mark.parametrize("tool", ["note", "na"])
def test_focus_returns_to_the_item_after_submitting(
    open_as, deployment, engineer, first_item, tool
):
    page = _open(open_as, engineer, deployment)
    row = f"#item-{first_item.pk}"
    page.locator(f"#item-{first_item.pk}-more > summary").click()  # the line opens
    page.locator(f"#item-{first_item.pk}-{tool} summary").focus()
    page.keyboard.press("Enter")  # opens the form
    page.keyboard.press("Tab")
    page.keyboard.type("Checked by hand on the staging replica")
    if tool == "note":
        page.keyboard.press("Tab")  # the kind
    page.keyboard.press("Tab")  # the button
    page.keyboard.press("Enter")

    expect(page.locator(row)).to_contain_text("Checked by hand", timeout=10_000)
    expect(page.locator(f"{row} :focus, {row}:focus")).to_have_count(1)


def test_on_a_phone_the_first_item_is_at_most_one_screen_down(open_as, deployment, lead, engineer):
    _in_thread(lambda: gates.go_live(deployment, lead))
    for user in (lead, engineer):  # the lead also has the rollback tools
        page = _open(open_as, user, deployment, **PHONE)

        item = _box(page, ".run-item")
        assert item["y"] <= 2 * PHONE["height"], (user.username, item["y"])
        # The reading form is not in the way: below the first item, or folded.
        form = page.locator("#reading-form")
        if form.is_visible():
            assert _box(page, "#reading-form")["y"] > item["y"]
