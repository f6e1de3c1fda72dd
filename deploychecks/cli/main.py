"""`deploychecks`: start deployments, tick items, wait on the gate, from a pipeline.

Configured by DEPLOYCHECKS_URL (the site, e.g. https://deploychecks.example.com)
and DEPLOYCHECKS_TOKEN (a personal or service token); DEPLOYCHECKS_DEPLOYMENT
names the deployment when --deployment is not given. Human output by default,
--json for scripts. Exit status: 0 done (the gate open), 1 refused or the gate
still closed, 2 a usage, configuration or connection problem.
"""

import argparse
import json
import os
import sys
import time

import httpx

from deploychecks.cli import ci

OK, REFUSED, BROKEN = 0, 1, 2
LONG_POLL_MAX = 600


class Failure(Exception):
    def __init__(self, code: int, message: str, body=None):
        super().__init__(message)
        self.code, self.message, self.body = code, message, body


class Client:
    def __init__(self, url: str, token: str, *, transport=None):
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "deploychecks-cli/1"},
            timeout=httpx.Timeout(30.0),
            transport=transport,
        )

    def call(self, method: str, path: str, *, json_body=None, params=None, timeout=None):
        try:
            response = self.http.request(
                method, path, json=json_body, params=params, timeout=timeout or 30.0
            )
        except httpx.HTTPError as exc:
            raise Failure(BROKEN, f"Cannot reach {self.http.base_url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else response.text[:300]
            code = (
                BROKEN
                if response.status_code in (401, 429) or response.status_code >= 500
                else REFUSED
            )
            raise Failure(code, f"{response.status_code}: {detail}", body)
        return body


def _ci_context() -> dict:
    return ci.detect(os.environ)


def _print(args, human: str, body) -> None:
    print(json.dumps(body, indent=2) if args.json else human)


def _deployment(args) -> int:
    value = args.deployment or os.environ.get("DEPLOYCHECKS_DEPLOYMENT", "")
    if not value.isdecimal():
        raise Failure(BROKEN, "Name the deployment: --deployment ID or DEPLOYCHECKS_DEPLOYMENT.")
    return int(value)


def _unmet_lines(unmet) -> list[str]:
    return [f"  - {c.get('needs', '')} {c.get('label', '')}".rstrip() for c in unmet or ()]


# --- Commands ---------------------------------------------------------------------------


def deployments_create(client: Client, args) -> int:
    body = {
        "template": args.template,
        "service": args.service,
        "environment": args.environment,
        "version": args.version,
        "previous_version": args.previous_version,
        "release_name": args.release_name,
        "lead": args.lead,
    }
    if args.revision:
        body["revision"] = args.revision
    if context := _ci_context():
        body["ci"] = context
    created = client.call("POST", "/deployments", json_body=body)
    _print(args, f"{created['id']}\t{created['url']}" if not args.quiet else created["id"], created)
    return OK


def items_tick(client: Client, args) -> int:
    deployment = _deployment(args)
    path = f"/deployments/{deployment}/items/{args.key}/state"
    state = "na" if args.na else ("open" if args.reopen else "done")
    detail = client.call("GET", f"/deployments/{deployment}")
    items = {i["key"]: i for p in detail["phases"] for i in p["items"]}
    if args.key not in items:
        raise Failure(REFUSED, f"No item “{args.key}” in deployment {deployment}.")
    body = {"state": state, "expected_version": items[args.key]["version"], "reason": args.na or ""}
    if args.evidence_url:
        body["evidence_url"] = args.evidence_url
    if context := _ci_context():
        body["ci"] = context
    try:
        answer = client.call("POST", path, json_body=body)
    except Failure as failure:
        current = (failure.body or {}).get("current") or {}
        # Someone else got there first with the same result: nothing to do.
        if (
            not (failure.body or {}).get("type", "").endswith("stale-version")
            or current.get("state") != state
        ):
            raise
        answer = {"changed": False, "seq": None, "item": current}
    item = answer["item"]
    verb = {"done": "ticked", "open": "reopened", "na": "marked N/A"}[state]
    human = (
        f"{item['key']}: {verb}" if answer["changed"] else f"{item['key']}: already {item['state']}"
    )
    _print(args, human, answer)
    return OK


def status_set(client: Client, args) -> int:
    deployment = _deployment(args)
    body = {"to": args.to, "reason": args.reason, "acknowledgement": args.acknowledgement}
    if context := _ci_context():
        body["ci"] = context
    try:
        answer = client.call("POST", f"/deployments/{deployment}/status", json_body=body)
    except Failure as failure:
        if failure.body and failure.body.get("unmet") and not args.json:
            failure.message += "\n" + "\n".join(_unmet_lines(failure.body["unmet"]))
        raise
    _print(args, f"deployment {deployment}: {answer['status']}", answer)
    return OK


def gate_wait(client: Client, args) -> int:
    """Long-poll the gate until it opens, can no longer open, or --timeout passes."""
    deployment = _deployment(args)
    deadline = time.monotonic() + max(0, args.timeout)
    while True:
        wait = max(0, min(LONG_POLL_MAX, int(deadline - time.monotonic())))
        answer = client.call(
            "GET",
            f"/deployments/{deployment}/gate",
            params={"for": args.target, "wait": wait},
            timeout=wait + 30,
        )
        if answer["status"] == "open" or answer.get("final") or wait == 0:
            break
        if time.monotonic() >= deadline:
            break
    if answer["status"] == "open":
        _print(args, f"gate to {args.target} is open", answer)
        return OK
    lines = [
        answer.get("message") or f"gate to {args.target} is closed",
        *_unmet_lines(answer["unmet"]),
    ]
    _print(args, "\n".join(lines), answer)
    return REFUSED


def readings_send(client: Client, args) -> int:
    deployment = _deployment(args)
    body = {"signal": args.signal, "value": args.value, "note": args.note}
    if args.observed_at:
        body["observed_at"] = args.observed_at
    answer = client.call("POST", f"/deployments/{deployment}/readings", json_body=body)
    _print(args, f"{answer['signal']}: {answer['value']} ({answer['grade'] or 'no grade'})", answer)
    return OK


# --- Arguments --------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the API's JSON answer")
    with_deployment = argparse.ArgumentParser(add_help=False)
    with_deployment.add_argument(
        "--deployment", default="", help="its id (default: $DEPLOYCHECKS_DEPLOYMENT)"
    )

    root = argparse.ArgumentParser(prog="deploychecks", description=__doc__.split("\n\n")[0])
    groups = root.add_subparsers(dest="group", required=True)

    deployments = groups.add_parser("deployments").add_subparsers(dest="command", required=True)
    create = deployments.add_parser("create", parents=[common], help="start a deployment")
    create.add_argument("--template", required=True, help="the template's name or id")
    create.add_argument("--revision", type=int, default=0)
    create.add_argument("--service", required=True)
    create.add_argument("--environment", default="production")
    create.add_argument("--version", required=True)
    create.add_argument("--previous-version", default="")
    create.add_argument("--release-name", default="")
    create.add_argument("--lead", default="", help="username (a service token must name one)")
    create.add_argument("--quiet", action="store_true", help="print the id only")
    create.set_defaults(run=deployments_create)

    items = groups.add_parser("items").add_subparsers(dest="command", required=True)
    tick = items.add_parser("tick", parents=[common, with_deployment], help="tick an item")
    tick.add_argument("--key", required=True, help="the item's key (see the deployment's JSON)")
    tick.add_argument("--evidence-url", default="", help="a link shown with the tick")
    mode = tick.add_mutually_exclusive_group()
    mode.add_argument("--na", default="", metavar="REASON", help="mark it N/A instead")
    mode.add_argument("--reopen", action="store_true", help="reopen it instead")
    tick.set_defaults(run=items_tick)

    gate = groups.add_parser("gate").add_subparsers(dest="command", required=True)
    wait = gate.add_parser("wait", parents=[common, with_deployment], help="wait for the gate")
    wait.add_argument("--for", dest="target", choices=["go-live", "complete"], default="go-live")
    wait.add_argument("--timeout", type=int, default=600, help="seconds (0: just look)")
    wait.set_defaults(run=gate_wait)

    status = groups.add_parser("status").add_subparsers(dest="command", required=True)
    set_ = status.add_parser("set", parents=[common, with_deployment], help="change the status")
    set_.add_argument(
        "--to",
        required=True,
        choices=["in_progress", "monitoring", "completed", "rolled_back", "aborted"],
    )
    set_.add_argument("--reason", default="")
    set_.add_argument("--acknowledgement", default="", help="to go live on a YELLOW verdict")
    set_.set_defaults(run=status_set)

    readings = groups.add_parser("readings").add_subparsers(dest="command", required=True)
    send = readings.add_parser("send", parents=[common, with_deployment], help="send a reading")
    send.add_argument("--signal", required=True)
    send.add_argument("--value", required=True, type=float)
    send.add_argument("--observed-at", default="", help="ISO 8601 (default: now)")
    send.add_argument("--note", default="")
    send.set_defaults(run=readings_send)
    return root


def main(argv=None, *, transport=None) -> int:
    args = parser().parse_args(argv)
    url, token = os.environ.get("DEPLOYCHECKS_URL", ""), os.environ.get("DEPLOYCHECKS_TOKEN", "")
    try:
        if not url or not token:
            raise Failure(BROKEN, "Set DEPLOYCHECKS_URL and DEPLOYCHECKS_TOKEN.")
        return args.run(Client(url, token, transport=transport), args)
    except Failure as failure:
        if args.json and failure.body is not None:
            print(json.dumps(failure.body, indent=2))
        print(f"deploychecks: {failure.message}", file=sys.stderr)
        return failure.code


if __name__ == "__main__":
    sys.exit(main())
