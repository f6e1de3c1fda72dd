"""The browsable API docs work under the site's CSP (no inline script, no eval)."""

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import screenshot

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_every_operation_without_a_csp_violation(browser, live_server_url):
    context = browser.new_context()
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    response = page.goto(live_server_url + "/api/v1/docs")
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    # One block per operation of the OpenAPI document.
    document = page.request.get(live_server_url + "/api/v1/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert operations >= 15
    expect(page.locator(".opblock")).to_have_count(operations, timeout=15_000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    screenshot(page, "api-docs")
    context.close()
    assert not problems, problems
