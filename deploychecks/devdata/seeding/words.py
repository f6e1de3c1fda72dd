"""Words for `seed_history`: people, services, releases, notes and reasons.

Plain data, so that script.py and story.py read as the story of a deployment.
"""

# (username, first name, last name). Usernames are what the audit log copies.
LEADS = [
    ("maya.okafor", "Maya", "Okafor"),
    ("jonas.berg", "Jonas", "Berg"),
    ("priyanka.rao", "Priyanka", "Rao"),
    ("tom.haddad", "Tom", "Haddad"),
    ("lucia.ferreira", "Lucia", "Ferreira"),
    ("kenji.watanabe", "Kenji", "Watanabe"),
]
ENGINEERS = [
    ("ana.petrova", "Ana", "Petrova"),
    ("ben.achebe", "Ben", "Achebe"),
    ("chloe.martin", "Chloe", "Martin"),
    ("diego.santos", "Diego", "Santos"),
    ("elif.kaya", "Elif", "Kaya"),
    ("finn.larsen", "Finn", "Larsen"),
    ("gita.sharma", "Gita", "Sharma"),
    ("hugo.weber", "Hugo", "Weber"),
    ("isla.murray", "Isla", "Murray"),
    ("jamal.wright", "Jamal", "Wright"),
    ("kasia.nowak", "Kasia", "Nowak"),
    ("liam.oconnor", "Liam", "O'Connor"),
]
# Two people per sign-off role of the default template, in the roles' order.
APPROVERS = [
    ("helen.ward", "Helen", "Ward"),
    ("marcus.lindqvist", "Marcus", "Lindqvist"),
    ("ravi.menon", "Ravi", "Menon"),
    ("sofia.novak", "Sofia", "Novak"),
    ("claire.dubois", "Claire", "Dubois"),
    ("daniel.mensah", "Daniel", "Mensah"),
    ("aiko.tanaka", "Aiko", "Tanaka"),
    ("pedro.alves", "Pedro", "Alves"),
]
VIEWERS = [("nina.support", "Nina", "Holm"), ("oscar.sales", "Oscar", "Reyes")]
MANAGER = ("dana.director", "Dana", "Whitfield")
ADMIN = ("irene.admin", "Irene", "Castillo")

SERVICES = [
    "checkout-api",
    "payments",
    "search",
    "catalog",
    "accounts",
    "notifications",
    "inventory",
    "shipping",
    "pricing",
    "recommendations",
    "reporting",
    "web-frontend",
]

RELEASE_THEMES = [
    "Faster search",
    "Payment retries",
    "Q{q} compliance",
    "Holiday readiness",
    "Dark mode",
    "New pricing tiers",
    "SSO for teams",
    "Inventory sync",
    "Bug bash fixes",
    "Performance pass",
    "Database upgrade",
    "Checkout redesign",
    "Saved carts",
    "Audit logging",
    "Rate limit tuning",
    "Partner API v2",
    "Accessibility fixes",
    "Multi-currency",
    "Order history export",
    "Gift cards",
    "Smarter recommendations",
    "Warehouse routing",
    "Email templates",
    "Mobile web polish",
    "Dependency refresh",
    "Framework upgrade",
    "Tax rules {year}",
    "Returns portal",
    "Fraud checks",
    "Observability pass",
]
HOTFIX_THEMES = [
    "Hotfix: session timeouts",
    "Hotfix: rounding in totals",
    "Hotfix: search timeouts",
    "Hotfix: duplicate emails",
    "Security patch",
    "Hotfix: stuck exports",
    "Hotfix: memory leak",
    "Hotfix: webhook retries",
]

# Item title -> reasons a team gives for marking it N/A.
NA_REASONS = {
    "Data migration rehearsed in staging": [
        "No data migration in this release.",
        "Schema-only change; no data is moved.",
    ],
    "Apply database migrations": ["No migrations in this release."],
    "Migrations checked": ["No migrations in this release."],
    "Warm the caches": [
        "This service has no cache layer.",
        "Caches warm themselves within a minute; not worth a manual step.",
    ],
    "Roll out the new frontend": ["Backend-only release."],
    "Cache busting working": ["Backend-only release; no new assets."],
    "Check frontend health": ["Backend-only release."],
    "Browser coverage": ["API-only service; no browser UI."],
    "Mobile and responsive layouts": ["API-only service; no UI changes."],
    "Switch on maintenance mode": ["Zero-downtime rollout; no maintenance window needed."],
    "Backup restore test": ["Restore was tested in last week's DR drill (ticket OPS-{n})."],
    "Tell customers how it went": ["Internal change with no customer-facing impact."],
    "Communication plan agreed": ["Internal change; no stakeholder communication needed."],
}
EARLY_COMPLETION_NA = (
    "Extended monitoring handed over to the on-call rota after the 24-hour review."
)

NOTES = {
    "Production database backed up": [
        "Snapshot snap-{hex} stored in the DR bucket, restore verified in staging."
    ],
    "Record a health baseline": [
        "Baseline: error rate {err} %, p95 {p95} ms, {conns} of 20 DB connections."
    ],
    "Take a last-minute backup": ["Backup took {mins} minutes; id snap-{hex}."],
    "Roll out the new backend": [
        "Rolled out in three waves (10 %, 50 %, 100 %).",
        "Canary looked clean for 10 minutes before the full rollout.",
    ],
    "Apply database migrations": ["{mins} migrations applied, longest {secs} s."],
    "Check backend health": ["All pods healthy; readiness probes green."],
    "Performance": ["p95 {p95} ms on the dashboard, within target."],
    "Error logs": ["A handful of 404s from old mobile clients; expected."],
    "Team check-ins": ["Sync held; nothing blocking."],
    "Post-deployment debrief": ["Debrief notes in the wiki: smooth release, two follow-ups."],
    "Daily metrics review": ["Metrics in line with last week."],
}
GENERIC_NOTES = [
    "Done, see the release channel for details.",
    "Checked with the on-call engineer.",
    "Looked fine; no action needed.",
    "Took longer than planned but no issues.",
    "Numbers attached to the release ticket.",
    "Double-checked after the cache warm-up.",
]
DEVIATIONS = [
    "Migrations took {mins} minutes (target under 5); the orders table lock was held for {secs} s.",
    "Rolled out 20 minutes later than planned: the build pipeline queue was full.",
    "Skipped the second canary wave to stay inside the maintenance window.",
    "Load test ran with 600 simultaneous users instead of 1,000 (staging capacity).",
    "Status page update went out 15 minutes late.",
    "Backup restore in staging not finished before go-live; finished an hour later.",
    "p95 latency peaked at {p95} ms during cache warm-up, above the 600 ms target for 4 minutes.",
]
ACK_NOTES = [
    "",
    "",
    "",
    "All green.",
    "Smoke tests pass.",
    "Health check OK, p95 {p95} ms.",
    "Checked; nothing unusual.",
    "Minor 5xx blip, recovered on its own.",
]
REJECT_COMMENTS = [
    "The debrief notes are missing; please add them before I approve.",
    "Error rate spiked overnight; I want a note explaining it first.",
    "Backup restore test is not documented. Add the ticket and I will sign.",
]
REJECT_ANSWERS = [
    "Debrief notes added to the wiki; link in the release ticket.",
    "The overnight spike was the nightly batch job, unrelated to this release.",
    "Restore test documented in OPS-{n}.",
]
ABORT_BEFORE_START = [
    "Security audit found a critical CVE in a dependency; release postponed.",
    "Staging data migration rehearsal failed; fixing the migration first.",
    "Not enough engineers available for the window; moved to next week.",
    "Business asked to hold releases during the marketing campaign.",
]
ABORT_DURING = [
    "The last-minute backup did not finish in time; the window closed.",
    "Maintenance mode failed to switch on in one region; stopped before touching anything.",
    "Upstream payment provider announced an incident; stopped before the rollout.",
]
ROLLBACK_MONITORING = [
    "Error rate above 1 % for more than 5 minutes after go-live.",
    "p95 latency above 1 s on checkout; customers report timeouts.",
    "Database connection pool maxed out under real traffic.",
    "Order totals wrong for some currencies; rolling back to be safe.",
]
ROLLBACK_DEPLOYING = [
    "Migration failed half-way through; rolling back before opening traffic.",
    "New backend pods crash-loop on start-up (missing config key).",
    "Health checks fail after the rollout; cause unclear.",
]
OVERRIDE_REASONS = [
    "Product Manager on leave; verbal approval given in the release channel.",
    "QA Lead unreachable over the weekend; the on-call QA engineer checked the results.",
]
TOKEN_NAMES = ["Prometheus", "Datadog", "Grafana alerts", "CloudWatch"]
CONTACT_ROLES = {
    # Template contact role -> which of the deployment's people fills it.
    "Deployment lead": "lead",
    "Backend lead": "engineer",
    "Frontend lead": "engineer",
    "DevOps lead": "approver:1",
    "Executive sponsor": "approver:0",
}
