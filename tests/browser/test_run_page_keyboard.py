"""The run page built for 89 items (issue 16, section 6): one line per item, the
keyboard (skip link, j/k/x/n/o/?), the timeline beside the checklist or as a view."""

import pytest
from playwright.sync_api import expect

from deploychecks.runs.models import RunItem
from deploychecks.runs.services import change_status, set_item_state
from tests.browser.fixtures import screenshot
from tests.browser.run_page import furnish, in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(autouse=True)
def _audit(purge_audit_events):
    """Every test here writes audit events."""


def _open(open_as, user, deployment, **viewport):
    page = open_as(user, deployment.get_absolute_url(), **viewport)
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    return page


def _items(deployment):
    return list(deployment.items.order_by("phase__position", "position"))


def test_the_first_phase_fits_on_one_laptop_screen(open_as, deployment, lead, engineer):
    furnish(deployment, lead, engineer)
    page = _open(open_as, engineer, deployment, **WIDE)
    first = _items(deployment)[0]
    phase = page.locator(f"#phase-{first.phase_id}")
    # Measured in one go: a live update may replace a row between two reads.
    height, heights = phase.evaluate(
        """phase => {
            const rows = [...phase.querySelectorAll(".run-item")];
            const top = phase.getBoundingClientRect().top;
            return [rows[rows.length - 1].getBoundingClientRect().bottom - top,
                    rows.map(r => r.getBoundingClientRect().height)];
        }"""
    )
    assert len(heights) == 15
    print(f"Phase 1 (15 items) at 1280x800: {height:.0f} px from the phase's top")
    assert height <= 800, height
    # One line each: no row is taller than two lines of text.
    assert max(heights) <= 48, heights
    # For docs/screenshots: the first phase from its top, with the timeline beside it.
    phase.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 8)")
    screenshot(page, "run-page-1280")
    page.set_viewport_size(PHONE)
    phase.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 8)")
    screenshot(page, "run-page-375")


def test_the_skip_link_is_first_and_lands_on_the_first_checkbox(open_as, deployment, engineer):
    page = _open(open_as, engineer, deployment, **WIDE)
    first = _items(deployment)[0]

    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the checklist")
    page.keyboard.press("Enter")
    expect(page.locator(f"#item-{first.pk}-check")).to_be_focused()
    # Back to the top, and Tab goes from the checklist on.
    page.keyboard.press("Shift+Tab")  # the first phase's summary
    expect(page.locator(f"#phase-{first.phase_id} > summary")).to_be_focused()


def test_a_phase_heading_keeps_the_focus_when_a_status_change_redraws_the_checklist(
    open_as, deployment, lead, engineer
):
    """A status change makes every page fetch the whole checklist again (resync);
    the focus was lost when it sat on a phase's heading, which has no id."""
    page = _open(open_as, engineer, deployment, **WIDE)
    first = _items(deployment)[0]
    summary = page.locator(f"#phase-{first.phase_id} > summary")
    page.locator(f"#item-{first.pk}-check").focus()
    page.keyboard.press("Shift+Tab")
    expect(summary).to_be_focused()
    old = summary.element_handle()
    # A panel above the phases that the redraw no longer has (a retrospective's
    # link, a rollback's panel come and go): the heading is found all the same.
    page.locator("#checklist-items").evaluate(
        "el => el.before(Object.assign(document.createElement('p'), {id: 'gone-panel'}))"
    )

    in_thread(lambda: change_status(deployment_id=deployment.pk, to="in_progress", user=lead))
    expect(page.locator(f"#phase-{first.phase_id} .elapsed")).to_have_count(1, timeout=5_000)
    expect(page.locator("#run[data-synced]")).to_have_count(1, timeout=5_000)
    assert not old.evaluate("el => el.isConnected")  # redrawn, not kept
    expect(page.locator("#gone-panel")).to_have_count(0)
    expect(summary).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator(f"#item-{first.pk}-check")).to_be_focused()


def test_a_status_change_by_keyboard_leaves_the_focus_on_the_new_status(open_as, deployment, lead):
    """The button pressed is gone with the old checklist: the focus went to the
    page's body (a keyboard user started again from the top) and the view to
    wherever the browser anchored it."""
    page = _open(open_as, lead, deployment, **WIDE)
    page.locator("#status-in_progress-form button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#run-header .status")).to_have_text("In progress", timeout=5_000)
    expect(page.locator("#run-header")).to_be_focused()
    expect(page.locator("#run-header")).to_be_in_viewport()
    page.keyboard.press("Tab")  # on from the header: its next control
    assert page.evaluate("document.activeElement.closest('#run-header') !== null")


def test_without_script_the_skip_link_and_two_tabs_reach_the_first_checkbox(
    browser, open_as, deployment, engineer
):
    page = open_as(engineer, "/healthz")
    cookies = page.context.cookies()
    context = browser.new_context(java_script_enabled=False, viewport=WIDE)
    context.add_cookies(cookies)
    plain = context.new_page()
    plain.goto(page.url.replace("/healthz", deployment.get_absolute_url()))
    first = _items(deployment)[0]
    plain.keyboard.press("Tab")
    expect(plain.locator(":focus")).to_have_text("Skip to the checklist")
    plain.keyboard.press("Enter")
    tabs = 0
    while tabs < 10 and plain.evaluate("document.activeElement.id") != f"item-{first.pk}-check":
        plain.keyboard.press("Tab")
        tabs += 1
    print(f"without script: Tab, Enter, then {tabs} Tab presses to the first checkbox")
    assert tabs == 2  # the first phase's summary, then the checkbox
    context.close()


def test_keyboard_only_ticking_with_j_k_x_is_saved_and_seen_by_another_viewer(
    open_as, deployment, engineer, second_engineer
):
    items = _items(deployment)
    erin = _open(open_as, engineer, deployment, **WIDE)
    sam = _open(open_as, second_engineer, deployment, **PHONE)

    erin.keyboard.press("j")
    expect(erin.locator(f"#item-{items[0].pk}-check")).to_be_focused()
    erin.keyboard.press("j")
    erin.keyboard.press("j")
    erin.keyboard.press("k")
    expect(erin.locator(f"#item-{items[1].pk}-check")).to_be_focused()
    erin.keyboard.press("x")

    expect(erin.locator(f"#item-{items[1].pk}")).to_have_class("run-item state-done", timeout=5_000)
    expect(sam.locator(f"#item-{items[1].pk}")).to_have_class("run-item state-done", timeout=5_000)
    expect(sam.locator(f"#item-{items[1].pk}-check")).to_be_checked()
    assert RunItem.objects.get(pk=items[1].pk).state == "done"
    assert RunItem.objects.get(pk=items[0].pk).state == "open"
    # The focus stays on the ticked item: x again unticks it.
    expect(erin.locator(f"#item-{items[1].pk}-check")).to_be_focused()
    erin.keyboard.press("x")
    expect(sam.locator(f"#item-{items[1].pk}")).to_have_class("run-item state-open", timeout=5_000)
    assert RunItem.objects.get(pk=items[1].pk).state == "open"
    assert erin.console_errors == [] and sam.console_errors == []


def test_n_opens_the_note_form_and_typing_there_is_not_a_shortcut(open_as, deployment, engineer):
    items = _items(deployment)
    page = _open(open_as, engineer, deployment, **WIDE)
    more = page.locator(f"#item-{items[0].pk}-more")
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(more).to_have_attribute("open", "")
    expect(page.locator(f"#item-{items[0].pk}-more > summary")).to_have_attribute(
        "aria-labelledby", f"item-{items[0].pk}-more-s item-{items[0].pk}-label"
    )
    page.keyboard.press("o")
    expect(more).not_to_have_attribute("open", "")

    page.keyboard.press("n")
    note = page.locator(f"#note-{items[0].pk}")
    expect(note).to_be_focused()
    page.keyboard.type("jkx? no shortcut here")
    expect(note).to_have_value("jkx? no shortcut here")
    expect(page.locator("#shortcuts")).to_be_hidden()
    assert RunItem.objects.get(pk=items[0].pk).state == "open"


def test_question_mark_lists_the_shortcuts_in_a_dialog_that_escape_closes(
    open_as, deployment, engineer
):
    page = _open(open_as, engineer, deployment, **WIDE)
    page.keyboard.press("j")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Tick or untick the item")
    page.keyboard.press("x")  # not a shortcut while the dialog is open
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    first = _items(deployment)[0]
    expect(page.locator(f"#item-{first.pk}-check")).to_be_focused()  # back where it was
    assert RunItem.objects.get(pk=first.pk).state == "open"


def test_the_timeline_is_a_live_side_panel_when_wide_and_a_view_on_a_phone(
    open_as, deployment, lead, engineer
):
    items = _items(deployment)
    wide = _open(open_as, engineer, deployment, **WIDE)
    phone = _open(open_as, lead, deployment, **PHONE)

    # Wide: beside the checklist, loaded without asking.
    panel = wide.locator("#timeline-panel")
    expect(wide.locator("#timeline ol.timeline")).to_contain_text("created the deployment")
    checklist = wide.locator("#checklist").bounding_box()
    side = panel.bounding_box()
    assert side["x"] >= checklist["x"] + checklist["width"], (side, checklist)
    assert side["y"] < 400  # at the top, not below 89 items
    expect(wide.locator("#run-views")).to_be_hidden()

    # Phone: the checklist first, the timeline a view of its own.
    expect(phone.locator("#timeline-panel")).to_be_hidden()
    expect(phone.locator("#view-checklist")).to_have_attribute("aria-pressed", "true")
    phone.locator("#view-timeline").click()
    expect(phone.locator("#view-timeline")).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("#checklist")).to_be_hidden()
    expect(phone.locator("#timeline ol.timeline")).to_contain_text("created the deployment")

    # Both stay live.
    in_thread(
        lambda: set_item_state(
            deployment_id=deployment.pk,
            item_id=items[0].pk,
            state="done",
            expected_version=items[0].version,
            user=engineer,
        )
    )
    for page in (wide, phone):
        expect(page.locator('#timeline [data-action="item.ticked"]')).to_have_count(
            1, timeout=5_000
        )
    phone.locator("#view-checklist").click()
    expect(phone.locator(f"#item-{items[0].pk}")).to_have_class("run-item state-done")
    assert wide.console_errors == [] and phone.console_errors == []
