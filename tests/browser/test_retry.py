"""A note whose answer was lost, sent again by its author, is stored once.

The browser gives the form an idempotency key when it is first submitted
(static/js/app.js) and keeps it while the form is unchanged; the server answers
the repeat with the first note (runs.idempotency).
"""

import re
import time
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_note_sent_again_after_a_lost_answer_is_stored_once(
    open_as, deployment, engineer, first_item, purge_audit_events
):
    page = open_as(engineer, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    sent = []

    def lose_the_first_answer(route):
        sent.append(parse_qs(route.request.post_data or ""))
        response = route.fetch()  # the server stores the note ...
        if len(sent) > 1:
            route.fulfill(response=response)
            return
        time.sleep(1)  # (its broadcast arrives meanwhile; the row is busy, so it waits)
        route.fulfill(status=502, body="Bad gateway")  # ... but the answer is lost

    page.route(re.compile(r".*/notes/$"), lose_the_first_answer)
    row = f"#item-{first_item.pk}"
    page.locator(f"{row}-more > summary").click()  # the line opens: details, notes, N/A
    page.locator(f"{row}-note summary").click()
    page.fill(f"#note-{first_item.pk}", "Cache warmed up")
    page.locator(f"{row}-note button[type=submit]").click()
    expect(page.locator(f"{row}-note button[type=submit]")).to_be_enabled()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    assert len(sent) == 1
    page.locator(f"{row}-note button[type=submit]").click()  # the author tries again

    expect(page.locator(f"{row} .notes-thread")).to_contain_text("Cache warmed up")
    keys = [body["idempotency_key"][0] for body in sent]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert re.fullmatch(r"[0-9a-f]{32}", keys[0])
    assert first_item.notes.count() == 1
    # The row that came back holds a fresh form: its next note is a new one.
    assert page.locator(f"{row}-note input[name=idempotency_key]").input_value() == ""
