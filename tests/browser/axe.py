"""axe-core (through axe-playwright-python) on a page open in Chromium.

    from tests.browser.axe import assert_no_violations
    assert_no_violations(page)  # the whole page: WCAG 2.x A and AA, best practices

A failure lists each violated rule with its impact, help text and the first
offending elements' selectors, so it can be fixed without rerunning.
"""

from axe_playwright_python.sync_playwright import Axe

# What we hold pages to: WCAG A and AA (2.0, 2.1, 2.2) and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def violations(page, context=None) -> list[dict]:
    """axe's violations on the page (or the part `context` selects) as it is now."""
    options = {"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": TAGS}}
    results = Axe().run(page, context=context, options=options)
    return results.response["violations"]


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} element(s)]")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['failureSummary']!r}")
    return "\n".join(lines)


def assert_no_violations(page, context=None) -> None:
    found = violations(page, context)
    assert found == [], f"axe-core found {len(found)} violation(s):\n" + describe(found)
