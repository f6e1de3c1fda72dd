"""When things happen in a seeded deployment: the script its `story.Story` plays.

`script(story)` schedules the actions of one deployment according to its plan
(completed, rolled back while live or while deploying, aborted before or
during, or still running): ticks phase by phase, notes, readings, sign-offs
and the status changes. Reminders schedule themselves once it goes live.
"""

from datetime import timedelta

from deploychecks.devdata.seeding import words
from deploychecks.gonogo import grading

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# Hours after go-live within which each phase after the go-live phase is worked through.
AFTER_GO_LIVE = [(0.05, 2.0), (0.15, 24.5), (26.0, 73.0)]


def _between(rng, start, end):
    return start + (end - start) * rng.random()


def _minutes(rng, low, high):
    return timedelta(minutes=rng.uniform(low, high))


def script(st) -> None:
    p, rng = st.plan, st.rng
    # Team habits: some tick every sub-check, others only the item above them.
    st.ticks_subchecks = rng.random() < 0.5
    st.schedule(p.created_at, st.create)
    if rng.random() < 0.6:
        st.schedule(p.created_at + _minutes(rng, 10, 360), st.fill_contacts)
    working = [k for k, phase in enumerate(st.shape.phases) if not phase.is_rollback]
    if p.outcome == "aborted" and p.variant == "before_start":
        abort = max(p.planned_start - HOUR * rng.uniform(2, 30), p.created_at + 3 * HOUR)
        tick_phase(
            st,
            working[0],
            max(p.created_at + HOUR, abort - 48 * HOUR),
            abort - 10 * MIN,
            keep=rng.uniform(0.4, 0.9),
        )
        st.schedule(
            abort, st.change_status, "aborted", st.lead, rng.choice(words.ABORT_BEFORE_START)
        )
        return
    start = p.planned_start + _minutes(rng, -5, 20)
    tick_phase(st, working[0], max(p.created_at + 30 * MIN, start - 48 * HOUR), start - 20 * MIN)
    st.schedule(start, st.change_status, "in_progress", st.lead)
    window = HOUR * rng.uniform(2, 4.5)
    if p.outcome == "aborted":
        last = tick_phase(
            st, working[1], start + 2 * MIN, start + window, until_item=rng.randint(2, 5)
        )
        st.schedule(
            last + _minutes(rng, 5, 30),
            st.change_status,
            "aborted",
            st.lead,
            rng.choice(words.ABORT_DURING),
        )
        return
    if p.outcome == "rolled_back" and p.variant == "deploying":
        last = tick_phase(
            st, working[1], start + 2 * MIN, start + window, until_item=rng.randint(5, 9)
        )
        roll_back(st, last + _minutes(rng, 5, 20), rng.choice(words.ROLLBACK_DEPLOYING))
        return
    readings_by_token = rng.random() < 0.6
    if readings_by_token:
        st.schedule(start + _minutes(rng, 10, 60), st.create_token)
    tick_phase(st, working[1], start + 2 * MIN, start + window)
    go_live = start + window + _minutes(rng, 3, 10)
    st.schedule(go_live, st.change_status, "monitoring", st.lead)
    reader = None if readings_by_token else rng.choice(st.engineers)
    if p.outcome == "rolled_back":
        trouble = go_live + HOUR * rng.uniform(0.3, 6)
        healthy_readings(st, go_live, trouble, reader)
        rollback_at = bad_readings(st, trouble, reader)
        last = go_live
        for k, phase in enumerate(working[2:]):
            low, high = AFTER_GO_LIVE[min(k, len(AFTER_GO_LIVE) - 1)]
            last = max(
                last,
                tick_phase(
                    st, phase, go_live + HOUR * low, go_live + HOUR * high, until=rollback_at
                ),
            )
        early_signoffs(st, go_live)
        roll_back(st, rollback_at, None)
        return
    healthy_readings(st, go_live, go_live + 5 * HOUR, reader)
    early = p.variant == "early"
    # Now and then a finished deployment leaves a couple of late items open.
    late_items = [i for i, item in enumerate(st.shape.items) if item.phase in working[2:]]
    left_open = (
        set(rng.sample(late_items, min(2, len(late_items)))) if rng.random() < 0.12 else set()
    )
    last = go_live
    for k, phase in enumerate(working[2:]):
        low, high = AFTER_GO_LIVE[min(k, len(AFTER_GO_LIVE) - 1)]
        if early and low >= 24:
            if rng.random() < 0.6:
                last = tick_phase(
                    st,
                    phase,
                    go_live + 24.6 * HOUR,
                    go_live + 25 * HOUR,
                    na_reason=words.EARLY_COMPLETION_NA,
                )
            continue
        last = max(
            last,
            tick_phase(st, phase, go_live + HOUR * low, go_live + HOUR * high, left_open=left_open),
        )
    early_signoffs(st, go_live)
    final_signoffs(st, last + _minutes(rng, 20, 60))


def tick_phase(
    st, phase, begin, end, *, until=None, until_item=None, keep=1.0, left_open=(), na_reason=None
):
    """Schedule the phase's items, in order, between `begin` and `end`; return the last time.

    Items after `until` (a time) or beyond the `until_item`-th are not reached;
    `keep` is the share that gets done at all (the rest stays open).
    """
    rng = st.rng
    items = [i for i, item in enumerate(st.shape.items) if item.phase == phase]
    if until_item is not None:
        items = items[:until_item]
    times = sorted(_between(rng, begin, end) for _ in items)
    last, previous = begin, begin
    for i, when in zip(items, times, strict=True):
        if (until is not None and when >= until) or i in left_open or rng.random() > keep:
            continue
        item = st.shape.items[i]
        user = st.lead if rng.random() < 0.3 else rng.choice(st.engineers)
        reasons = words.NA_REASONS.get(item.title)
        if na_reason or (reasons and rng.random() < 0.2):
            reason = na_reason or rng.choice(reasons).format(n=rng.randint(100, 999))
            st.schedule(when, st.set_item, i, "na", user, reason)
            last = previous = when
            continue
        subchecks = item.subchecks if st.ticks_subchecks else ()
        for j, sub_time in enumerate(
            sorted(
                _between(rng, previous + (when - previous) * 0.3, when - timedelta(seconds=10))
                for _ in subchecks
            )
        ):
            st.schedule(sub_time, st.set_subcheck, i, j, user)
        st.schedule(when, st.set_item, i, "done", user)
        roll = rng.random()
        if roll < 0.045:
            st.schedule(when + _minutes(rng, 1, 10), st.add_note, i, user, "note", _note(rng, item))
        elif roll < 0.05:
            st.schedule(
                when + _minutes(rng, 1, 10),
                st.add_note,
                i,
                user,
                "deviation",
                _fill(rng, rng.choice(words.DEVIATIONS)),
            )
        elif roll < 0.058:  # ticked by mistake: reopened, then ticked again
            st.schedule(when + _minutes(rng, 1, 4), st.set_item, i, "open", user)
            st.schedule(when + _minutes(rng, 5, 12), st.set_item, i, "done", user)
            when += 12 * MIN
        last = max(last, when)
        previous = when
    return last


def _fill(rng, template: str) -> str:
    return template.format(
        hex=f"{rng.getrandbits(32):08x}",
        err=f"{rng.uniform(0.02, 0.3):.2f}",
        p95=rng.randint(280, 640),
        conns=rng.randint(4, 14),
        mins=rng.randint(2, 9),
        secs=rng.randint(3, 55),
        n=rng.randint(100, 999),
    )


def _note(rng, item) -> str:
    return _fill(rng, rng.choice(words.NOTES.get(item.title) or words.GENERIC_NOTES))


# --- Sign-offs ---------------------------------------------------------------------------


def early_signoffs(st, go_live) -> None:
    """Some approvers sign right after the post-go-live checks; later ticks make them stale."""
    rng = st.rng
    if rng.random() >= 0.18:
        return
    for role in rng.sample(range(len(st.shape.roles)), rng.randint(1, 2)):
        st.schedule(go_live + HOUR * rng.uniform(2.1, 2.8), st.sign, role, st.approvers[role][0])


def final_signoffs(st, begin) -> None:
    """Every role approves after the last tick; then the lead completes the deployment."""
    rng = st.rng
    roles = list(range(len(st.shape.roles)))
    skipped = rng.choice(roles) if roles and rng.random() < 0.015 else None
    if skipped is not None:
        st.override_reason = rng.choice(words.OVERRIDE_REASONS)
    rejecting = rng.choice(roles) if roles and rng.random() < 0.07 else None
    last = begin
    for role in roles:
        if role == skipped:
            continue
        when = begin + HOUR * rng.uniform(0.1, 2.5)
        pair = st.approvers[role]
        signer = pair[1] if len(pair) > 1 and rng.random() < 0.3 else pair[0]
        if role == rejecting:
            k = rng.randrange(len(words.REJECT_COMMENTS))
            st.schedule(when, st.sign, role, signer, "reject", words.REJECT_COMMENTS[k])
            answer = when + _minutes(rng, 10, 40)
            done = [
                i
                for i, item in enumerate(st.shape.items)
                if not st.shape.phases[item.phase].is_rollback
            ][-1]
            st.schedule(
                answer, st.add_note, done, st.lead, "note", _fill(rng, words.REJECT_ANSWERS[k])
            )
            when = answer + _minutes(rng, 5, 30)
        st.schedule(when, st.sign, role, signer)
        last = max(last, when)
    st.schedule(last + _minutes(rng, 5, 45), st.change_status, "completed", st.lead)


# --- Readings and rollback ----------------------------------------------------------------


def _good(rng, signal) -> float:
    if signal.is_boolean:
        return 0.0
    bound = signal.yellow_at if signal.yellow_at is not None else signal.red_at
    if signal.direction == grading.BELOW:
        return _round(signal, bound * rng.uniform(1.2, 2.5))
    return _round(signal, bound * rng.uniform(0.15, 0.85))


def _yellow(rng, signal) -> float | None:
    if signal.is_boolean or signal.yellow_at is None or signal.red_at is None:
        return None
    return _round(signal, _between(rng, signal.yellow_at, signal.red_at))


def _red(rng, signal) -> float:
    if signal.is_boolean:
        return 1.0
    if signal.red_inclusive:
        return float(signal.red_at)
    factor = rng.uniform(1.1, 1.6) if signal.direction == grading.ABOVE else rng.uniform(0.4, 0.9)
    return _round(signal, signal.red_at * factor)


def _round(signal, value: float) -> float:
    # Latencies and connection counts are whole numbers; rates keep two decimals.
    whole = max(abs(signal.yellow_at or 0), abs(signal.red_at or 0)) >= 10
    return float(round(value)) if whole else round(value, 2)


def healthy_readings(st, go_live, until, reader) -> None:
    """Two or three readings per signal after go-live, now and then a yellow one."""
    rng = st.rng
    for index, signal in enumerate(st.shape.signals):
        times = [go_live + _minutes(rng, 3, 10), go_live + _minutes(rng, 40, 240)]
        values = [_good(rng, signal), _good(rng, signal)]
        wobble = _yellow(rng, signal)
        if wobble is not None and rng.random() < 0.12:
            values[1] = wobble
            times.append(times[1] + _minutes(rng, 10, 40))
            values.append(_good(rng, signal))
        for when, value in zip(times, values, strict=True):
            if when < until:
                st.schedule(when, st.record_reading, index, value, reader)


def bad_readings(st, begin, reader):
    """A signal goes red and stays red until the verdict says roll back; returns the decision time."""
    rng = st.rng
    candidates = [k for k, s in enumerate(st.shape.signals) if not s.is_boolean and s.red_at]
    if not candidates:
        return begin
    index = rng.choice(candidates)
    signal = st.shape.signals[index]
    count = (signal.sustained_minutes or 0) // 2 + 2
    when = begin
    for k in range(count):
        when = begin + 2 * MIN * k + timedelta(seconds=rng.uniform(0, 20))
        st.schedule(when, st.record_reading, index, _red(rng, signal), reader)
    st.rollback_reason = _rollback_reason(rng, signal.name)
    return when + _minutes(rng, 2, 12)


def _rollback_reason(rng, name: str) -> str:
    name = name.lower()
    for key, reason in zip(
        ("error", "latency", "connection"), words.ROLLBACK_MONITORING, strict=False
    ):
        if key in name:
            return reason
    return rng.choice(words.ROLLBACK_MONITORING)


def roll_back(st, when, reason) -> None:
    """Start the rollback, then work through its steps; the last one ends the deployment."""
    rng = st.rng
    reason = reason or st.rollback_reason
    st.schedule(when, st.start_rollback, reason, st.lead)
    t = when + _minutes(rng, 0.1, 1)
    for step in st.shape.rollback_steps:
        items = st.shape.step_items[step]
        duration = (st.shape.steps[step].minutes or 1) * MIN * rng.uniform(0.5, 1.4)
        for k, i in enumerate(items, start=1):
            user = st.lead if step == st.shape.rollback_steps[0] else rng.choice(st.team)
            st.schedule(t + duration * k / len(items), st.set_item, i, "done", user)
        t += duration
