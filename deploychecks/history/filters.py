"""The history list's filters: one GET form, and the deployments it selects.

Everything lives in the URL so that a shared link shows the same list: the
form is bound to request.GET and every field is optional. A field that does
not validate is reported and left out; the list still shows, filtered by the
others. Dates filter on when a deployment happened: its start, or for one
never started its planned start, or else its creation (`WHEN`, which the
`deployment_when_idx` index covers).
"""

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, F, Lookup, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone

from deploychecks.runs.models import Deployment, GateOverride, ItemNote, RunItem

S = Deployment.Status
UNFINISHED = "unfinished"
OUTCOME_CHOICES = [
    ("", "Any outcome"),
    (
        "Finished",
        [
            (S.COMPLETED, S.COMPLETED.label),
            (S.ROLLED_BACK, S.ROLLED_BACK.label),
            (S.ABORTED, S.ABORTED.label),
        ],
    ),
    (
        "Not finished",
        [
            (UNFINISHED, "Any not finished"),
            (S.PLANNED, S.PLANNED.label),
            (S.IN_PROGRESS, S.IN_PROGRESS.label),
            (S.MONITORING, S.MONITORING.label),
        ],
    ),
]
UNFINISHED_STATUSES = [S.PLANNED, S.IN_PROGRESS, S.MONITORING]

WHEN = Coalesce("started_at", "planned_start", "created_at")
# Went live or completed past an unmet gate condition (runs.GateOverride).
OVERRIDDEN = Exists(GateOverride.objects.filter(deployment=OuterRef("pk")))
LEAD_NAME = Coalesce(
    NullIf(Trim(Concat("lead__first_name", Value(" "), "lead__last_name")), Value("")),
    "lead__username",
)

# Column key -> (heading, what it orders by, first direction when clicked).
# Keys that can be NULL sort their empty rows last in both directions.
COLUMNS = {
    "release": ("Release", ["release_name"], "asc"),
    "service": ("Service", ["service", "environment"], "asc"),
    "version": ("Version", ["version"], "asc"),
    "status": ("Outcome", ["status"], "asc"),
    "lead": ("Lead", ["lead_name"], "asc"),
    "started": ("Started", ["when"], "desc"),
    "duration": ("Duration", ["duration"], "desc"),
}
NULLABLE = {"lead_name", "duration"}
DEFAULT_SORT = "-started"
SORT_CHOICES = [(key, key) for column in COLUMNS for key in (column, f"-{column}")]
# Query parameters the list understands, in the order its links write them.
PARAMS = ["q", "service", "environment", "outcome", "overridden", "lead", "from", "to", "sort"]
AUTO = {"class": "filter-auto"}
NOTE_SEARCH_MIN = 3


class HistoryFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Release, version or notes",
                "autocomplete": "off",
            }
        ),
    )
    # The selects and dates refresh the list when they change (class filter-auto).
    service = forms.CharField(required=False, max_length=120, widget=forms.Select(AUTO))
    environment = forms.CharField(required=False, max_length=60, widget=forms.Select(AUTO))
    outcome = forms.ChoiceField(required=False, choices=OUTCOME_CHOICES, widget=forms.Select(AUTO))
    overridden = forms.ChoiceField(
        label="Gate",
        required=False,
        choices=[("", "Any"), ("yes", "Overridden"), ("no", "Not overridden")],
        widget=forms.Select(AUTO),
    )
    lead = forms.IntegerField(required=False, min_value=1, widget=forms.Select(AUTO))
    sort = forms.ChoiceField(
        required=False,
        choices=SORT_CHOICES,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": "Unknown sort order “%(value)s”: showing the newest first."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so these two cannot be declared above.
        for name, label in (("from", "From"), ("to", "To")):
            self.fields[name] = forms.DateField(
                label=label,
                required=False,
                widget=forms.DateInput(attrs={"type": "date", **AUTO}),
                error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
            )

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        return data

    @property
    def valid_data(self) -> dict:
        """The fields that validated and are set; the ones in error filter nothing."""
        self.is_valid()  # runs the validation once; the errors are shown, not raised
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}

    @property
    def has_filters(self) -> bool:
        return any(name != "sort" for name in self.valid_data)

    @property
    def sort_order(self) -> str:
        return self.valid_data.get("sort") or DEFAULT_SORT

    def params(self, **changes) -> dict:
        """The list's query parameters: the valid, non-empty ones, with `changes`."""
        valid = self.valid_data
        params = {name: self.data.get(name) for name in PARAMS if name in valid}
        params.update(changes)
        if params.get("sort") == DEFAULT_SORT:
            del params["sort"]
        return {name: value for name, value in params.items() if value not in (None, "")}

    def query(self, **changes) -> str:
        """`?…` for a link to this list with `changes` applied; empty for the plain list."""
        params = self.params(**changes)
        return "?" + urlencode(params) if params else ""

    def set_choices(self, visible) -> None:
        """Fill the selects from what `visible` holds (two queries; full pages only)."""
        pairs = visible.order_by().values_list("service", "environment").distinct()
        services, environments = set(), set()
        for service, environment in pairs:
            services.add(service)
            environments.add(environment)
        data = self.valid_data
        # A shared link may name a value this user has nothing of: keep it selected.
        for name, values, empty in (
            ("service", services, "Any"),
            ("environment", environments, "Any"),
        ):
            if data.get(name):
                values.add(data[name])
            self.fields[name].widget.choices = [("", empty)] + [(v, v) for v in sorted(values)]
        leads = (
            get_user_model()
            .objects.filter(pk__in=visible.order_by().values("lead_id"))
            .only("username", "first_name", "last_name")
        )
        people = sorted(
            ((user.get_full_name() or user.username, user.pk) for user in leads),
            key=lambda pair: (pair[0].casefold(), pair[1]),
        )
        choices = [("", "Anyone")] + [(pk, name) for name, pk in people]
        # Likewise a lead none of whose deployments this user sees: named by id only, since
        # the link must not reveal who that is.
        if data.get("lead") and data["lead"] not in {pk for _, pk in people}:
            choices.append((data["lead"], f"Lead #{data['lead']}"))
        self.fields["lead"].widget.choices = choices


def filtered_deployments(visible, form: HistoryFilterForm):
    """`visible` narrowed by the form's valid fields and put in its sort order."""
    data = form.valid_data
    deployments = visible.annotate(when=WHEN, overridden=OVERRIDDEN)
    if "q" in data:
        deployments = deployments.filter(_matches(data["q"]))
    for name in ("service", "environment"):
        if name in data:
            deployments = deployments.filter(**{name: data[name]})
    if outcome := data.get("outcome"):
        statuses = UNFINISHED_STATUSES if outcome == UNFINISHED else [outcome]
        deployments = deployments.filter(status__in=statuses)
    if overridden := data.get("overridden"):
        deployments = deployments.filter(overridden=overridden == "yes")
    if "lead" in data:
        deployments = deployments.filter(lead_id=data["lead"])
    if "from" in data:
        deployments = deployments.filter(when__gte=_start_of(data["from"]))
    if "to" in data:
        deployments = deployments.filter(when__lt=_start_of(data["to"] + dt.timedelta(days=1)))
    return _ordered(deployments, form.sort_order)


def _matches(text: str) -> Q:
    """Release name, version, or (from three characters on) a note on one of its items.

    Notes are searched from three characters: below that the trigram index on
    UPPER(body) cannot help and every note would be read on each keystroke.
    """
    match = Q(release_name__icontains=text) | Q(version__icontains=text)
    if len(text) < NOTE_SEARCH_MIN:
        return match
    notes = ItemNote.objects.filter(body__icontains=text).order_by().values("item_id")
    items = RunItem.objects.filter(InSubqueryFirst(F("pk"), Subquery(notes)))
    return match | Q(pk__in=items.values("deployment_id"))


class InSubqueryFirst(Lookup):
    """`lhs IN (subquery)`, written for PostgreSQL as `lhs = ANY(ARRAY(subquery))`.

    As a plain IN, PostgreSQL merge-joins the matching notes against the
    whole RunItem primary key (~135 ms with 600,000 items); as an array the
    subquery runs first, through the trigram index, and its items are then
    fetched by primary key (~35 ms). Other databases get the plain IN.
    """

    lookup_name = "in_subquery_first"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        template = "%s = ANY(ARRAY%s)" if connection.vendor == "postgresql" else "%s IN %s"
        return template % (lhs, rhs), (*lhs_params, *rhs_params)


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _ordered(deployments, sort: str):
    column = sort.removeprefix("-")
    descending = sort.startswith("-")
    fields = COLUMNS[column][1]
    if "lead_name" in fields:
        deployments = deployments.annotate(lead_name=LEAD_NAME)
    if "duration" in fields:
        deployments = deployments.annotate(duration=F("ended_at") - F("started_at"))
    order = []
    for field in fields:
        nulls_last = True if field in NULLABLE else None
        order.append(
            F(field).desc(nulls_last=nulls_last)
            if descending
            else F(field).asc(nulls_last=nulls_last)
        )
    # pk breaks ties, in the same direction so (when, id) reads the index backwards or forwards.
    order.append(F("pk").desc() if descending else F("pk").asc())
    return deployments.order_by(*order)


def sort_headers(form: HistoryFilterForm) -> list[dict]:
    """Each column's heading, aria-sort value and the link that (re)sorts by it."""
    current = form.sort_order.removeprefix("-")
    descending = form.sort_order.startswith("-")
    headers = []
    for key, (label, _, first) in COLUMNS.items():
        if key == current:
            aria_sort = "descending" if descending else "ascending"
            next_sort = key if descending else f"-{key}"
        else:
            aria_sort = None
            next_sort = f"-{key}" if first == "desc" else key
        headers.append(
            {
                "key": key,
                "label": label,
                "aria_sort": aria_sort,
                "query": form.query(sort=next_sort, page=None),
            }
        )
    return headers
