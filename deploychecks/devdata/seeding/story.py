"""One seeded deployment, lived through in time order.

`Story` replays what the services would have done: the same rows, the same
audit actions with the same target descriptions and before/after shapes, the
same sequence numbers (gaps included, where the real code takes a number
without an event), on a simulated clock. Actions sit in a heap by time; each
may schedule more (a reminder that falls due, its acknowledgement). The story
of a deployment still running stops at "now". This module has the checklist,
status and sign-offs; live.py what happens once it is live; rows.py writes it.
"""

import heapq
from datetime import timedelta

from deploychecks.audit.services import as_stored_json
from deploychecks.devdata.seeding import words
from deploychecks.devdata.seeding.bulk import Event
from deploychecks.devdata.seeding.live import Live
from deploychecks.gonogo.models import DeploymentSignal
from deploychecks.runs.models import (
    Deployment,
    DeploymentRole,
    GateOverride,
    ItemNote,
    RunItem,
    RunPhase,
    RunSection,
    RunStep,
    RunSubCheck,
)
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.snapshot import ChecklistState, hash_of, snapshot_of

USEC = timedelta(microseconds=1)


def _stored(value):
    """The value as its JSONField gives it back (`record_event` stores it so)."""
    return value if _plain(value) else as_stored_json(value)


def _plain(value) -> bool:
    # Most events hold only strings and numbers: skip the JSON round trip for them.
    if value is None or isinstance(value, str | int | float):
        return True
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


class Story(Live):
    """One deployment: its people, its rows' ids and state, and the audit events so far."""

    def __init__(self, ctx, plan, rng):
        self.ctx, self.plan, self.rng = ctx, plan, rng
        self.shape = ctx.shape
        self.events: list[Event] = []
        self.seq = 0
        self.clock = None
        self._queue: list = []
        self._n = 0
        self.status = "planned"
        self.started_at = self.go_live_at = self.ended_at = None
        self.override = None  # set when an admin completes without every approval
        self.override_reason = self.rollback_reason = ""
        self.ticks_subchecks = True  # the script decides this team's habit
        self._cast()
        self._allocate()

    # --- People and rows ---------------------------------------------------------------

    def _cast(self):
        people, rng = self.ctx.people, self.rng
        self.lead = rng.choice(people.leads)
        self.engineers = rng.sample(people.engineers, rng.choice((2, 2, 3)))
        self.team = [self.lead, *self.engineers]
        self.approvers = []  # per role: [primary, backup?]
        for index, _ in enumerate(self.shape.roles):
            pool = people.approvers[index * 2 % len(people.approvers) :][:2] or people.approvers
            pool = rng.sample(pool, len(pool))
            self.approvers.append(pool if rng.random() < 0.3 else pool[:1])
        self.viewers = [rng.choice(people.viewers)] if rng.random() < 0.3 else []

    def _allocate(self):
        new = self.ctx.rows.new_id
        shape = self.shape
        self.id = new(Deployment)
        self.phase_ids = [new(RunPhase) for _ in shape.phases]
        self.section_ids = [new(RunSection) for _ in shape.sections]
        self.step_ids = [new(RunStep) for _ in shape.steps]
        self.item_ids = [new(RunItem) for _ in shape.items]
        self.sub_ids = [[new(RunSubCheck) for _ in item.subchecks] for item in shape.items]
        self.role_ids = [new(DeploymentRole) for _ in shape.roles]
        self.signal_ids = [new(DeploymentSignal) for _ in shape.signals]
        n = len(shape.items)
        self.state, self.na_reason, self.version = ["open"] * n, [""] * n, [1] * n
        self.changed = [None] * n  # (user, time)
        self.sub_done = [[False] * len(i.subchecks) for i in shape.items]
        self.sub_version = [[1] * len(i.subchecks) for i in shape.items]
        self.sub_changed = [[None] * len(i.subchecks) for i in shape.items]
        self.notes, self.signoffs, self.reminders, self.readings = [], [], [], []
        self.grades = [""] * len(shape.signals)
        self.verdict = None
        self.episode = None
        self.token = None
        self.contacts = [
            dict(zip(("role", "person", "phone", "handle"), c, strict=True)) for c in shape.contacts
        ]

    # --- Clock, queue and events -------------------------------------------------------

    def at(self, when):
        """The next instant on this deployment's clock: never before the last one."""
        self.clock = when if self.clock is None or when > self.clock else self.clock + USEC
        return self.clock

    def schedule(self, when, action, *args):
        self._n += 1
        heapq.heappush(self._queue, (when, self._n, action, args))

    def run(self, now):
        while self._queue and self._queue[0][0] <= now:
            when, _, action, args = heapq.heappop(self._queue)
            action(when, *args)

    def bump(self) -> int:
        self.seq += 1
        return self.seq

    def event(
        self,
        when,
        action,
        *,
        actor=None,
        seq=None,
        target=None,
        target_repr=None,
        before=None,
        after=None,
    ):
        target_type, target_id, default_repr = target or ("", "", "")
        self.events.append(
            Event(
                deployment_id=self.id,
                seq=seq,
                actor_id=actor.pk if actor else None,
                actor_name=actor.username if actor else "",
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                target_repr=(target_repr if target_repr is not None else default_repr)[:300],
                before=_stored(before),
                after=_stored(after),
                created_at=self.at(when),
            )
        )

    def _deployment_target(self):
        p = self.plan
        return ("runs.deployment", self.id, f"{p.service} {p.version} ({p.release_name})")

    def _item_target(self, i):
        return ("runs.runitem", self.item_ids[i], self.shape.items[i].title)

    # --- Services, as the app runs them ------------------------------------------------

    def create(self, when):
        p, s = self.plan, self.shape
        self.event(
            when,
            "deployment.created",
            actor=self.lead,
            seq=self.bump(),
            target=self._deployment_target(),
            after={
                "release": p.release_name,
                "version": p.version,
                "previous_version": p.previous_version,
                "revision": s.label,
            },
        )

    def fill_contacts(self, when):
        before = [dict(c) for c in self.contacts]
        for contact in self.contacts:
            who = words.CONTACT_ROLES.get(contact["role"], "engineer")
            if who == "lead":
                user = self.lead
            elif who.startswith("approver:"):
                index = int(who.split(":")[1]) % len(self.approvers)
                user = self.approvers[index][0]
            else:
                user = self.rng.choice(self.engineers)
            contact.update(
                person=user.email,
                phone=f"+1 555 01{user.pk % 100:02d}",
                handle=f"@{user.username.split('.')[0]}",
            )
        self.event(
            when,
            "contacts.changed",
            actor=self.lead,
            seq=self.bump(),
            target=self._deployment_target(),
            before={"contacts": before},
            after={"contacts": [dict(c) for c in self.contacts]},
        )

    def set_item(self, when, i, state, user, reason=""):
        if self.finished or self.state[i] == state:
            return
        when = self.at(when)
        item = self.shape.items[i]
        before = {
            "state": self.state[i],
            "na_reason": self.na_reason[i],
            "version": self.version[i],
        }
        self.state[i], self.na_reason[i] = state, reason if state == "na" else ""
        self.version[i] += 1
        self.changed[i] = (user, when)
        seq = self.bump()
        action = {"done": "item.ticked", "open": "item.reopened", "na": "item.marked_na"}[state]
        self.event(
            when,
            action,
            actor=user,
            seq=seq,
            target=self._item_target(i),
            before=before,
            after={"state": state, "na_reason": self.na_reason[i], "version": self.version[i]},
        )
        verb = {"done": "was ticked", "open": "was reopened", "na": "was marked N/A"}[state]
        self._invalidate(when, f"“{item.title}” {verb} by {user.name}", seq, user)
        self._rollback_item_changed(when, i, user)

    def set_subcheck(self, when, i, j, user):
        if self.finished or self.sub_done[i][j]:
            return
        when = self.at(when)
        item = self.shape.items[i]
        before = {"done": False, "version": self.sub_version[i][j]}
        self.sub_done[i][j] = True
        self.sub_version[i][j] += 1
        self.sub_changed[i][j] = (user, when)
        seq = self.bump()
        self.event(
            when,
            "subcheck.ticked",
            actor=user,
            seq=seq,
            target=("runs.runsubcheck", self.sub_ids[i][j], item.subchecks[j]),
            before=before,
            after={"done": True, "version": self.sub_version[i][j]},
        )
        self._invalidate(
            when,
            f"“{item.subchecks[j]}” (under “{item.title}”) was ticked by {user.name}",
            seq,
            user,
        )

    def add_note(self, when, i, user, kind, body):
        if self.finished:
            return
        when = self.at(when)
        note_id = self.ctx.rows.new_id(ItemNote)
        self.notes.append(
            {
                "id": note_id,
                "item_id": self.item_ids[i],
                "author_id": user.pk,
                "author_name": user.name,
                "kind": kind,
                "body": body,
                "created_at": when,
            }
        )
        self.event(
            when,
            f"{kind}.added",
            actor=user,
            seq=self.bump(),
            target=self._item_target(i),
            after={"kind": kind, "body": body, "note_id": note_id},
        )

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "rolled_back", "aborted")

    def change_status(self, when, to, user, reason=""):
        if self.finished:
            return
        when = self.at(when)
        current = self.status
        if to == "completed" and self.override_reason:
            self._complete_with_override(when)
        self.status = to
        if to == "in_progress" or (to in ("rolled_back", "aborted") and not self.started_at):
            self.started_at = when
        if to == "monitoring":
            self.go_live_at = when
        if to in ("completed", "rolled_back", "aborted"):
            self.ended_at = when
        actor = self.ctx.people.admin if to == "completed" and self.override else user
        self.event(
            when,
            "deployment.status",
            actor=actor,
            seq=self.bump(),
            target=self._deployment_target(),
            before={"status": current},
            after={"status": to, "reason": reason},
        )
        if to == "monitoring":
            self._schedule_reminders(when, actor)
        elif self.finished:
            self._cancel_reminders(when, actor)
        if to == "rolled_back" and self.episode and not self.episode["completed_at"]:
            self._complete_rollback(when, actor)

    # --- Sign-offs -------------------------------------------------------------------------

    def sign(self, when, role, user, decision="approve", comment=""):
        if self.finished:
            return
        when = self.at(when)
        previous = next(
            (s for s in self.signoffs if s["role"] == role and s["status"] == "valid"), None
        )
        seq = self.bump()
        if previous:
            previous.update(status="superseded", invalidated_at=when)
        state = self._checklist_state()
        checklist = hash_of(state)
        signoff = {
            "id": self.ctx.rows.new_id(SignOff),
            "role": role,
            "signer": user,
            "decision": decision,
            "comment": comment,
            "checklist_hash": checklist,
            "checklist_seq": seq,
            "checklist_snapshot": snapshot_of(state),
            "created_at": when,
            "status": "valid",
            "stale_reason": "",
            "invalidated_at": None,
        }
        self.signoffs.append(signoff)
        role_name = self.shape.roles[role]
        verb = "approved" if decision == "approve" else "rejected"
        self.event(
            when,
            f"signoff.{verb}",
            actor=user,
            seq=seq,
            target=("signoffs.signoff", signoff["id"], ""),
            target_repr=f"as {role_name}",
            before=(
                {
                    "signoff_id": previous["id"],
                    "signer": previous["signer"].name,
                    "decision": previous["decision"],
                }
                if previous
                else None
            ),
            after={
                "role": role_name,
                "decision": decision,
                "comment": comment,
                "checklist_hash": checklist,
                "checklist_seq": seq,
                "checklist_counts": signoff["checklist_snapshot"]["counts"],
            },
        )

    def _invalidate(self, when, reason, caused_by, user):
        reason = reason[:500]
        valid = sorted(
            (s for s in self.signoffs if s["status"] == "valid"), key=lambda s: s["role"]
        )
        for signoff in valid:
            signoff.update(status="stale", stale_reason=reason, invalidated_at=when)
            role_name = self.shape.roles[signoff["role"]]
            self.event(
                when,
                "signoff.stale",
                actor=user,
                seq=self.bump(),
                target=("signoffs.signoff", signoff["id"], ""),
                target_repr=f"{signoff['signer'].name}’s {role_name} sign-off",
                before={"status": "valid"},
                after={"status": "stale", "reason": reason, "caused_by_seq": caused_by},
            )

    def _checklist_state(self) -> ChecklistState:
        """signoffs.snapshot.checklist_state, over this story's state."""
        items = sorted(
            (self.item_ids[i], self.state[i], self.version[i]) for i in range(len(self.item_ids))
        )
        subs = sorted(
            (self.sub_ids[i][j], self.item_ids[i], self.sub_done[i][j], self.sub_version[i][j])
            for i in range(len(self.item_ids))
            for j in range(len(self.sub_ids[i]))
        )
        return ChecklistState(items=items, subchecks=subs)

    def _complete_with_override(self, when):
        """runs.status._override: an admin completes past the missing approvals."""
        conditions = [
            {"key": f"signoff:{self.role_ids[r]}", "kind": "signoff", "label": role}
            for r, role in enumerate(self.shape.roles)
            if not any(
                s["role"] == r and s["status"] == "valid" and s["decision"] == "approve"
                for s in self.signoffs
            )
        ]
        admin = self.ctx.people.admin
        self.override = {
            "id": self.ctx.rows.new_id(GateOverride),
            "by": admin,
            "reason": self.override_reason,
            "at": when,
            "conditions": conditions,
        }
        self.event(
            when,
            "deployment.override",
            actor=admin,
            seq=self.bump(),
            target=(
                "runs.gateoverride",
                self.override["id"],
                f"{admin.name} overrode the gate to completed",
            ),
            target_repr=f"to completed: {len(conditions)} condition(s)",
            after={"to": "completed", "reason": self.override_reason, "conditions": conditions},
        )
