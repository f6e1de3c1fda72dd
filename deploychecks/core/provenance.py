"""Where a change came from when a machine made it: an API token, and the CI run
that used it.

The API authenticates a request and puts its provenance on it
(`request.provenance`, a small JSON-able dict). Nothing else has to pass it
along: `audit.services.record_event` stores it with the event (inside the
event's hash) and `runs.services.set_item_state` on the item it changed, so the
run page, the record and the exports can say "✓ by CI · GitHub Actions run
1234 · a1b2c3d", with links. The keys:

- token: the token's name ("ci-checkout"), token_id, token_kind (personal/service)
- provider ("github-actions", "gitlab-ci", or another short name), run_id,
  run_url, commit_sha, commit_url, job: the optional CI context
- evidence_url: a link the caller gave as evidence for a tick

URLs are checked to be http(s) where they come in (the API schemas) and again
here before they become links.
"""

from urllib.parse import urlsplit

PROVIDERS = {
    "github-actions": "GitHub Actions",
    "gitlab-ci": "GitLab CI",
    "jenkins": "Jenkins",
    "argo": "Argo",
    "buildkite": "Buildkite",
    "circleci": "CircleCI",
}
URL_MAX = 500
TEXT_MAX = 200
FIELDS = ("provider", "run_id", "run_url", "commit_sha", "commit_url", "job", "evidence_url")


def of_request(request) -> dict | None:
    """The provenance the API put on `request`, or None (a person in the browser)."""
    return getattr(request, "provenance", None) if request is not None else None


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host: the only kind that becomes a link."""
    if not isinstance(value, str) or len(value) > URL_MAX:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def provider_name(provider: str) -> str:
    return PROVIDERS.get(provider, provider)


def parts(via: dict | None) -> list[tuple[str, str]]:
    """The pieces of "by CI · GitHub Actions run 1234 · a1b2c3d" as (text, url)
    pairs; url is "" where there is no (safe) link."""
    if not via:
        return []

    def link(url) -> str:
        return url if is_web_url(url) else ""

    pieces = [(f"by {via.get('token') or 'an API token'}", "")]
    provider = via.get("provider") or ""
    run = via.get("run_id") or ""
    if provider or run or via.get("run_url"):
        label = " ".join(p for p in (provider_name(provider), "run", run) if p)
        pieces.append((label, link(via.get("run_url"))))
    if sha := via.get("commit_sha") or "":
        pieces.append((sha[:7], link(via.get("commit_url"))))
    if job := via.get("job") or "":
        pieces.append((f"job {job}", ""))
    if evidence := link(via.get("evidence_url")):
        pieces.append(("evidence", evidence))
    return pieces


def describe(via: dict | None) -> str:
    """One line of plain text (CSV, Markdown): "by CI · GitHub Actions run 1234 · a1b2c3d"."""
    return " · ".join(text for text, _ in parts(via))


def describe_markdown(via: dict | None) -> str:
    """The same line with Markdown links."""
    return " · ".join(f"[{text}]({url})" if url else text for text, url in parts(via))
