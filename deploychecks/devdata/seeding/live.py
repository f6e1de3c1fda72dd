"""What a seeded deployment lives through once it is live (mixed into `story.Story`).

Reminders fall due, go out (now and then late), are acknowledged or escalated;
readings come in by hand or from a monitoring feed and move the verdict; a
rollback runs its timed steps. Each method does what its service does, with
the same audit events.
"""

import hashlib
from datetime import timedelta

from deploychecks.devdata.seeding import words
from deploychecks.gonogo import grading
from deploychecks.gonogo.models import IngestToken, RollbackEpisode
from deploychecks.gonogo.rollback import duration_text
from deploychecks.gonogo.series import format_value
from deploychecks.reminders.models import Reminder, format_minutes

MIN = timedelta(minutes=1)
# The dispatcher runs every minute: "late" past two; escalation after 15 unacknowledged.
LATE_AFTER = timedelta(seconds=120)
ESCALATE_AFTER = timedelta(minutes=15)
DONE = ("done", "na")


class Live:
    # --- Reminders -------------------------------------------------------------------------

    def _schedule_reminders(self, when, user):
        for rule in self.shape.rules:
            for offset in rule.offsets:
                reminder = {
                    "id": self.ctx.rows.new_id(Reminder),
                    "rule": rule,
                    "offset": offset,
                    "due_at": when + offset * MIN,
                    "status": "pending",
                    "sent_at": None,
                    "late_by": None,
                    "ack": None,
                    "escalated_at": None,
                    "escalated_to": "",
                    "deliveries": [],
                }
                self.reminders.append(reminder)
                lag = timedelta(seconds=self.rng.uniform(3, 58))
                if self.rng.random() < 0.07:  # the worker was down or busy
                    lag += timedelta(minutes=self.rng.uniform(2, 25))
                self.schedule(reminder["due_at"] + lag, self.release_reminder, reminder)
        if self.reminders:
            dues = [r["due_at"] for r in self.reminders]
            self.event(
                when,
                "reminders.scheduled",
                actor=user,
                target=self._deployment_target(),
                after={
                    "count": len(self.reminders),
                    "rules": len(self.shape.rules),
                    "first_due": min(dues),
                    "last_due": max(dues),
                },
            )

    def _cancel_reminders(self, when, user):
        pending = [r for r in self.reminders if r["status"] == "pending"]
        for reminder in pending:
            reminder["status"] = "cancelled"
        if pending:
            self.event(
                when,
                "reminders.cancelled",
                actor=user,
                target=self._deployment_target(),
                after={"count": len(pending), "status": self.status},
            )

    def _reminder_target(self, r):
        return (
            "reminders.reminder",
            r["id"],
            f"{r['rule'].title} (+{format_minutes(r['offset'])})",
        )

    def release_reminder(self, when, reminder):
        if self.status != "monitoring" or reminder["status"] != "pending":
            return
        when = self.at(when)
        late_by = when - reminder["due_at"]
        reminder.update(
            status="late" if late_by > LATE_AFTER else "sent", sent_at=when, late_by=late_by
        )
        self._deliveries(reminder, "reminder", self._recipients(reminder["rule"].notify), when)
        self.event(
            when,
            "reminder.sent",
            target=self._reminder_target(reminder),
            after={
                "status": reminder["status"],
                "due_at": reminder["due_at"],
                "late_by_seconds": round(late_by.total_seconds(), 3),
            },
        )
        roll = self.rng.random()
        if roll < 0.78:
            self.schedule(
                when + timedelta(seconds=self.rng.uniform(40, 840)), self.acknowledge, reminder
            )
        else:
            self.schedule(
                when + ESCALATE_AFTER + timedelta(seconds=self.rng.uniform(1, 59)),
                self.escalate,
                reminder,
            )
            if roll < 0.9:
                self.schedule(
                    when + timedelta(minutes=self.rng.uniform(17, 70)), self.acknowledge, reminder
                )

    def acknowledge(self, when, reminder):
        if reminder["status"] not in ("sent", "late"):
            return
        when = self.at(when)
        user = self.rng.choice(self.team)
        note = self.rng.choice(words.ACK_NOTES).format(p95=self.rng.randint(240, 560))
        before = {"status": reminder["status"]}
        reminder.update(status="acknowledged", ack=(user, when, note))
        self.event(
            when,
            "reminder.acknowledged",
            actor=user,
            target=self._reminder_target(reminder),
            before=before,
            after={"status": "acknowledged", "note": note, "due_at": reminder["due_at"]},
        )

    def escalate(self, when, reminder):
        if self.status != "monitoring" or reminder["status"] not in ("sent", "late"):
            return
        when = self.at(when)
        told = {a.lower() for a in reminder["told"]}
        ladder = [c for c in self.contacts if c["person"].strip().lower() not in told]
        level = sum(
            1
            for r in self.reminders
            if r is not reminder and r["escalated_at"] and r["status"] in ("sent", "late")
        )
        contact = ladder[min(level, len(ladder) - 1)] if ladder else None
        if contact:
            reach = ", ".join(
                v for v in (contact["person"], contact["phone"], contact["handle"]) if v
            )
            to = f"{contact['role']} ({reach})" if reach else contact["role"]
            email = contact["person"].strip()
            self._deliveries(reminder, "escalation", [email] if "@" in email else [], when)
        else:
            to = "nobody (no contacts)"
        reminder.update(escalated_at=when, escalated_to=to)
        self.event(
            when,
            "reminder.escalated",
            target=self._reminder_target(reminder),
            after={"to": to, "sent_at": reminder["sent_at"]},
        )

    def _recipients(self, notify) -> list[str]:
        people = []
        if "lead" in notify:
            people.append(self.lead)
        if "engineers" in notify:
            people += sorted(self.engineers, key=lambda u: u.username)
        if "approvers" in notify:
            people += sorted(
                {a.pk: a for pair in self.approvers for a in pair}.values(),
                key=lambda u: u.username,
            )
        return list(dict.fromkeys(u.email for u in people))

    def _deliveries(self, reminder, purpose, recipients, when):
        if purpose == "reminder":
            reminder["told"] = recipients
        sent = when + timedelta(seconds=self.rng.uniform(0.2, 4))
        for channel, to in (("page", []), ("email", recipients)):
            reminder["deliveries"].append(
                {
                    "purpose": purpose,
                    "channel": channel,
                    "recipients": to,
                    "status": "sent" if channel == "page" or to else "skipped",
                    "attempts": 1 if channel == "page" or to else 0,
                    "next_attempt_at": when,
                    "sent_at": sent if channel == "page" or to else None,
                }
            )

    # --- Signals and verdict -----------------------------------------------------------

    def create_token(self, when):
        if self.finished:
            return
        when = self.at(when)
        name = self.rng.choice(words.TOKEN_NAMES)
        secret = "dcg_" + hashlib.sha256(f"{self.id}-{when}".encode()).hexdigest()[:43]
        self.token = {
            "id": self.ctx.rows.new_id(IngestToken),
            "name": name,
            "token_hash": hashlib.sha256(secret.encode()).hexdigest(),
            "prefix": secret[:10],
            "created_at": when,
            "last_used_at": None,
        }
        self.event(
            when,
            "ingest_token.created",
            actor=self.lead,
            seq=self.bump(),
            target=("gonogo.ingesttoken", self.token["id"], f"{name} ({self.token['prefix']}…)"),
        )

    def record_reading(self, when, index, value, user=None, note=""):
        """gonogo.services.record_reading: by a person (`user`) or by the ingest token."""
        if self.finished:
            return
        when = self.at(when)
        signal = self.shape.signals[index]
        target = ("gonogo.deploymentsignal", self.signal_ids[index], signal.name)
        observed = when if user else when - timedelta(seconds=self.rng.uniform(1, 15))
        self.readings.append((index, value, observed, note, user, when))
        if user is None:
            self.token["last_used_at"] = when
        seq = self.bump()
        if user:
            self.event(
                when,
                "reading.recorded",
                actor=user,
                seq=seq,
                target=target,
                target_repr=f"{signal.name}: {format_value(signal, value)}",
                after={"value": value, "observed_at": observed, "note": note},
            )
        latest = max((r for r in self.readings if r[0] == index), key=lambda r: r[2])[1]
        new_grade = grading.grade(latest, signal.thresholds)
        if new_grade != self.grades[index]:
            before = self.grades[index] or "none"
            self.grades[index] = str(new_grade)
            if user:
                seq = self.bump()
            self.event(
                when,
                "signal.grade_changed",
                actor=user,
                seq=seq,
                target=target,
                target_repr=f"{signal.name}: {before} → {new_grade} "
                f"({format_value(signal, value)})",
                before={"grade": before},
                after={"grade": str(new_grade), "value": value},
            )
        self._judge(when, user)

    def _judge(self, when, user):
        series = [
            grading.Series(
                name=s.name,
                unit=s.unit,
                boolean=s.is_boolean,
                thresholds=s.thresholds,
                readings=[grading.Reading(r[2], r[1]) for r in self.readings if r[0] == i],
            )
            for i, s in enumerate(self.shape.signals)
        ]
        result = grading.verdict(series, when)
        state = self.verdict or {
            "level": "none",
            "rule": "",
            "changed_at": None,
            "first_red_at": None,
        }
        self.verdict = state
        if state["level"] == result.level:
            state["rule"] = result.rule[:300]
            return
        before = state["level"]
        state.update(level=str(result.level), rule=result.rule[:300], changed_at=when)
        if result.level == grading.Level.RED and state["first_red_at"] is None:
            state["first_red_at"] = result.since or when
        self.event(
            when,
            "verdict.changed",
            actor=user,
            seq=self.bump(),
            target=self._deployment_target(),
            target_repr=f"{result.level.upper()} — {result.headline}: {result.rule}",
            before={"level": before},
            after={"level": str(result.level), "rule": result.rule, "since": result.since},
        )

    # --- Rollback --------------------------------------------------------------------------

    def start_rollback(self, when, reason, user):
        if self.status not in ("in_progress", "monitoring"):
            return
        when = self.at(when)
        first_red = self.verdict and self.verdict["first_red_at"]
        decide = max(0, int((when - first_red).total_seconds())) if first_red else None
        budget = self.shape.rollback_budget
        self.episode = {
            "id": self.ctx.rows.new_id(RollbackEpisode),
            "reason": reason,
            "started_at": when,
            "by": user,
            "budget": budget,
            "decide": decide,
            "completed_at": None,
        }
        decided = f"; decided {duration_text(decide)} after the first RED verdict" if decide else ""
        self.event(
            when,
            "rollback.started",
            actor=user,
            seq=self.bump(),
            target=("gonogo.rollbackepisode", self.episode["id"], ""),
            target_repr=f"budget {budget} min{decided}: {reason}",
            after={"reason": reason, "budget_minutes": budget, "time_to_decide_seconds": decide},
        )

    def _step_timings(self, end):
        """rollback.build_view's step timings: (step index, budget, state, seconds)."""
        start = self.episode["started_at"]
        timings, active = [], False
        for s in self.shape.rollback_steps:
            items = self.shape.step_items[s]
            complete = bool(items) and all(self.state[i] in DONE for i in items)
            budget = self.shape.steps[s].minutes or 0
            if complete and not active:
                ended = max([self.changed[i][1] for i in items if self.changed[i]] or [start])
                ended = max(ended, start)
                timings.append((s, budget, "done", (ended - start).total_seconds()))
                start = ended
            elif not active:
                active = True
                timings.append((s, budget, "active", max(0.0, (end - start).total_seconds())))
            else:
                timings.append((s, budget, "pending", 0.0))
        return timings

    def _rollback_item_changed(self, when, i, user):
        item = self.shape.items[i]
        if item.step is None or not self.episode or self.episode["completed_at"]:
            return
        if not self.shape.phases[item.phase].is_rollback:
            return
        seq = self.bump()  # rollback._resync: a number for the page refresh
        step_items = self.shape.step_items[item.step]
        if self.state[i] in DONE and all(self.state[j] in DONE for j in step_items):
            s, budget, _, seconds = next(t for t in self._step_timings(when) if t[0] == item.step)
            step = self.shape.steps[s]
            over = (
                f", over by {duration_text(seconds - budget * 60)}" if seconds > budget * 60 else ""
            )
            self.event(
                when,
                "rollback.step_completed",
                actor=user,
                seq=seq,
                target=("runs.runstep", self.step_ids[s], ""),
                target_repr=f"{step.number}. {step.title}: {duration_text(seconds)} "
                f"of {budget} min{over}",
                after={
                    "seconds": round(seconds),
                    "budget_minutes": budget,
                    "overrun": seconds > budget * 60,
                },
            )
        remaining = any(
            self.state[j] not in DONE
            for s in self.shape.rollback_steps
            for j in self.shape.step_items[s]
        )
        if not remaining:
            self.change_status(when, "rolled_back", user, "Every rollback step is done.")

    def _complete_rollback(self, when, user):
        episode = self.episode
        episode["completed_at"] = max(self.ended_at, episode["started_at"])
        total = (episode["completed_at"] - episode["started_at"]).total_seconds()
        steps = []
        for s, budget, _, seconds in self._step_timings(episode["completed_at"]):
            step = self.shape.steps[s]
            steps.append(
                {
                    "number": step.number,
                    "title": step.title,
                    "budget_minutes": budget,
                    "seconds": round(seconds),
                    "overrun": seconds > budget * 60,
                }
            )
        summary = ", ".join(
            f"{s['number']}. {duration_text(s['seconds'])}" + (" (over)" if s["overrun"] else "")
            for s in steps
        )
        self.event(
            when,
            "rollback.completed",
            actor=user,
            seq=self.bump(),
            target=("gonogo.rollbackepisode", episode["id"], ""),
            target_repr=(
                f"in {duration_text(total)} of {episode['budget']} min; time to "
                f"decide {duration_text(episode['decide'])}; steps: {summary}"
            ),
            after={
                "total_seconds": round(total),
                "budget_minutes": episode["budget"],
                "time_to_decide_seconds": episode["decide"],
                "steps": steps,
            },
        )
