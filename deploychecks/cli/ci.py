"""The CI run a command runs in, from the variables GitHub Actions and GitLab CI set.

Sent with every change as `ci`, so the run page says "✓ by ci-checkout ·
GitHub Actions run 1234 · a1b2c3d" with links. Other CI systems can set
DEPLOYCHECKS_CI_PROVIDER, _RUN_ID, _RUN_URL, _COMMIT_SHA, _COMMIT_URL, _JOB.
"""

from collections.abc import Mapping


def detect(env: Mapping[str, str]) -> dict:
    context: dict[str, str] = {}
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        repository = env.get("GITHUB_REPOSITORY", "")
        run_id, sha = env.get("GITHUB_RUN_ID", ""), env.get("GITHUB_SHA", "")
        context = {
            "provider": "github-actions",
            "run_id": run_id,
            "run_url": f"{server}/{repository}/actions/runs/{run_id}"
            if repository and run_id
            else "",
            "commit_sha": sha,
            "commit_url": f"{server}/{repository}/commit/{sha}" if repository and sha else "",
            "job": env.get("GITHUB_JOB", ""),
        }
    elif env.get("GITLAB_CI") == "true":
        project, sha = env.get("CI_PROJECT_URL", "").rstrip("/"), env.get("CI_COMMIT_SHA", "")
        context = {
            "provider": "gitlab-ci",
            "run_id": env.get("CI_PIPELINE_ID", ""),
            "run_url": env.get("CI_PIPELINE_URL", ""),
            "commit_sha": sha,
            "commit_url": f"{project}/-/commit/{sha}" if project and sha else "",
            "job": env.get("CI_JOB_NAME", ""),
        }
    for field in ("provider", "run_id", "run_url", "commit_sha", "commit_url", "job"):
        if value := env.get(f"DEPLOYCHECKS_CI_{field.upper()}"):
            context[field] = value
    return {key: value for key, value in context.items() if value}
