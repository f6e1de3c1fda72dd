"""How features join a deployment: handlers of its events and guards of its status.

`runs.services` announces what happened to a deployment at fixed points, always
inside the transaction of the change and with the deployment row locked; each
feature app connects its handlers and guards in its `AppConfig.ready()`. So runs
never imports a feature, and "what happens when an item is ticked" is one service
function plus the handlers listed by `manage.py show_hooks`.

A handler raises to refuse the whole change (the transaction rolls back). A guard
never writes: it returns the conditions a status change needs and does not have,
and the caller collects every guard's answer, so a refusal names them all.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import conditional_escape


@dataclass(frozen=True)
class Event:
    """What every event carries: the locked deployment, who acted, and the request."""

    deployment: Any  # runs.models.Deployment, locked by the caller
    actor: Any  # the user, or None for the system (beat, a task)
    request: Any = None


@dataclass(frozen=True)
class Created(Event):
    """A deployment was created from `revision`, with its structure copied."""

    revision: Any = None
    # (user, sign-off role name) pairs, as given to create_deployment.
    approvers: list = field(default_factory=list)


@dataclass(frozen=True)
class ItemChanged(Event):
    """An item or one of its sub-checks changed state; `seq` numbers the change."""

    item: Any = None  # the item (for a sub-check: its item)
    seq: int = 0
    # One line for people: "“Backups verified” was ticked by Erin".
    description: str = ""
    subcheck: Any = None


@dataclass(frozen=True)
class NoteSaved(Event):
    """A note was added (`created`) or edited; `previous_body` is its text before
    the edit ("" when added). A handler raises a RunError to refuse it (an
    @mention of someone who is not on the deployment): nothing is saved."""

    item: Any = None
    note: Any = None  # runs.models.ItemNote, as saved
    created: bool = True
    previous_body: str = ""


@dataclass(frozen=True)
class ItemAccess(Event):
    """May `actor`, whose role alone does not let them, change `item`? A handler
    answers True to let them (its owners, in deploychecks.owners)."""

    item: Any = None


@dataclass(frozen=True)
class ItemTicking(Event):
    """`item` (locked) is about to be ticked by `actor`: guards of `item_ticking`
    return the Unmet conditions that refuse it (evidence it needs, say)."""

    item: Any = None


@dataclass(frozen=True)
class StatusChange(Event):
    """The deployment's status goes (or went) from `before` to `to`.

    `acknowledgement` is what the person typed to go live on a YELLOW verdict;
    `now` is the time the guards judge at (the window, the verdict).
    """

    before: str = ""
    to: str = ""
    acknowledgement: str = ""
    now: Any = None


@dataclass(frozen=True)
class Unmet:
    """One condition a status change needs and does not have.

    `key` names it for good ("item:12", "verdict:red"): an override lists the keys
    it overrides, and is refused if they are not exactly the ones unmet now.
    Unmet conditions of one `kind` are told together: "it needs {needs} {label},
    {label}". `anchor` is the id of the element on the run page that shows it.
    A condition that is not `overridable` can only be met (an active rollback).
    """

    key: str
    kind: str
    needs: str
    label: str
    anchor: str = ""
    overridable: bool = True

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind,
            "needs": self.needs,
            "label": self.label,
            "anchor": self.anchor,
            "overridable": self.overridable,
        }


@dataclass(frozen=True)
class AutoTransition:
    """An item change that moves the deployment on by itself (the last rollback
    step ticked → rolled back): runs applies it as one more status change."""

    to: str
    reason: str


@dataclass
class RunPage:
    """The run page (or its resync fragment) being built: features add their panels'
    context to `context`. Registered on `run_page`; called outside any transaction.
    """

    request: Any
    deployment: Any
    role: str | None
    context: dict
    # Loads the phases as objects and puts them in `context`; by default the page
    # shows their cached HTML instead (runs.fragments.checklist_phases).
    loader: Callable[[], list] | None = None
    phases: list | None = None

    def load_phases(self) -> list:
        """For a feature whose view of the phases depends on the clock (rollback
        timings): the phases, rendered for this request instead of from the cache."""
        if self.phases is None:
            self.phases = self.loader()
        return self.phases


class Hook:
    """The handlers of one event, called in the order they were connected.

    Every hook made anywhere (here, gonogo.events…) is listed in `Hook.every`,
    for `manage.py show_hooks`.
    """

    every: list["Hook"] = []

    def __init__(self, name: str):
        self.name = name
        self._handlers: list[Callable] = []
        Hook.every.append(self)

    def connect(self, handler: Callable, *, first: bool = False) -> None:
        """Call `handler` after those connected so far, or with `first`, before them:
        for a handler that reports the change itself (webhooks' item.changed), which
        must come before what the features do about it (a sign-off going stale)."""
        if handler not in self._handlers:  # ready() may run twice in tests
            if first:
                self._handlers.insert(0, handler)
            else:
                self._handlers.append(handler)

    def disconnect(self, handler: Callable) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    def send(self, event: Event) -> list:
        """Call every handler with `event`; their answers, in order."""
        return [handler(event) for handler in self._handlers]

    @property
    def handlers(self) -> tuple[Callable, ...]:
        return tuple(self._handlers)


class Guards(Hook):
    """Checks of a status change; each returns the Unmet conditions it finds."""

    def unmet(self, change: Event) -> list[Unmet]:
        return [condition for found in self.send(change) for condition in found or ()]


deployment_created = Hook("deployment created")
# Handlers may return an AutoTransition; the others return None.
item_changed = Hook("item or sub-check changed")
status_changing = Guards("status about to change (guards)")
status_changed = Hook("status changed")
went_live = Hook("went live (monitoring)")
finished = Hook("finished (completed, rolled back or aborted)")
# Handlers take a NoteSaved: a note added or edited (mentions).
note_saved = Hook("note added or edited")
# Handlers answer True to let a participant change an item their role would not.
item_editors = Hook("may change an item beyond their role")
# Handlers take a RunPage (not an Event): the features' panels on the run page.
run_page = Hook("run page built")
# Guards of a tick (ItemTicking): a refusal names every reason, nothing is saved.
item_ticking = Guards("item about to be ticked (guards)")
# Handlers take None and return a django Prefetch: the rows of a feature that an
# item row shows (its evidence), loaded with the items in one query each.
item_rows = Hook("item row prefetches")


def describe(verb: str, unmet: list[Unmet], *, most: int = 5) -> str:
    """One sentence for a refusal: "This deployment cannot be completed yet: it
    needs a valid approval from QA Lead, DevOps Lead." Each kind names at most
    `most` labels ("… and 12 more"); the full list is in `unmet`."""
    groups: dict[tuple[str, str], list[str]] = {}
    for condition in unmet:
        groups.setdefault((condition.kind, condition.needs), []).append(condition.label)
    parts = []
    for (_, needs), labels in groups.items():
        named = ", ".join(labels[:most])
        if len(labels) > most:
            named += f" and {len(labels) - most} more"
        parts.append(f"{needs} {named}")
    return f"This deployment cannot be {verb} yet: it needs {'; '.join(parts)}."


class Slots:
    """Named places of the run page where features put their templates.

    runs' templates say `{% run_slot "page-panels" %}`; each feature adds its
    templates in its `AppConfig.ready()`, and they are rendered in `order` (then
    in the order they were added), with the page's context, like an include.
    """

    PLACES = ("header", "page-panels", "item-line-before-notes", "item-line", "item-more")

    def __init__(self):
        self._added: dict[str, list[tuple[int, str]]] = {place: [] for place in self.PLACES}

    def add(self, slot: str, template_name: str, *, order: int = 100) -> None:
        """Put `template_name` in `slot` (once: ready() may run twice in tests)."""
        added = self._added[slot]  # KeyError: no such place
        if all(name != template_name for _, name in added):
            added.append((order, template_name))
            added.sort(key=lambda entry: entry[0])  # stable: ties keep their order

    def templates(self, slot: str) -> tuple[str, ...]:
        """The template names of `slot`, in the order they are rendered."""
        return tuple(name for _, name in self._added[slot])

    def __iter__(self):
        return iter(self.PLACES)


slots = Slots()


# How a note's text is shown on the run page (the `note_text` filter): escaped by
# default; deploychecks.mentions sets its @name highlighting.
note_text: Callable[[str], Any] = conditional_escape


def set_note_text(formatter: Callable[[str], Any]) -> None:
    """Show notes' text on the run page with `formatter`, which must escape the
    whole text and return it marked safe (a SafeString). One feature sets it: a
    second, different formatter raises, rather than silently replacing the first."""
    global note_text
    if note_text is not conditional_escape and note_text is not formatter:
        raise RuntimeError(f"the note text formatter is already set: {note_text!r}")
    note_text = formatter


def format_note_text(text: str):
    return note_text(text)
