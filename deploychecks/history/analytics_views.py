"""The analytics page and its per-chart CSV downloads.

Both read the same cached rows (`analytics.report`), so a CSV holds exactly
the numbers of the table under its chart. Access: only deployments the user
may see are counted (analytics.scope); anonymous users never get here
(LoginRequiredMiddleware sends them to the login page).
"""

import csv
from collections.abc import Callable
from urllib.parse import urlencode

from django import forms
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from deploychecks.accounts.people import is_manager
from deploychecks.history import charts
from deploychecks.history.analytics import (
    CACHE_SECONDS,
    CHARTS,
    STATUS_ORDER,
    Chart,
    Filters,
    Result,
    S,
    filter_choices,
    report,
)
from deploychecks.history.exports import csv_cell

# Past this many weeks the weekly chart is drawn by month (its bars would be under 2 px wide).
WEEKS_DRAWN = 52


class AnalyticsFilterForm(forms.Form):
    service = forms.ChoiceField(required=False)
    environment = forms.ChoiceField(required=False)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, services=(), environments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", "All services"), *((s, s) for s in services)]
        self.fields["environment"].choices = [
            ("", "All environments"),
            *((e, e) for e in environments),
        ]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date must not be before the start date.")
        return data

    def full_clean(self):
        super().full_clean()
        # Tie each message to its control for screen readers.
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"id_{name}-error"}
                )

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            service=data["service"],
            environment=data["environment"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )


def _filters_from(request, manager: bool) -> tuple[AnalyticsFilterForm, Filters | None]:
    """The bound filter form and its Filters (None when the input is invalid).

    The choices are the services and environments the user can see, so
    naming any other is an invalid choice, not a way to probe for it.
    """
    services, environments = filter_choices(request.user, manager=manager)
    params = {k: v for k, v in request.GET.items() if k in AnalyticsFilterForm.base_fields}
    form = AnalyticsFilterForm(params, services=services, environments=environments)
    return form, (form.filters() if form.is_valid() else None)


@require_GET
def analytics(request):
    manager = is_manager(request.user)
    form, filters = _filters_from(request, manager)
    # The filter form swaps only the results; restoring history needs the whole page.
    fragment = request.htmx and not request.htmx.history_restore_request
    if filters is None:
        context = {"form": form, "results_html": None}
        if fragment:
            # htmx swaps only 2xx answers: the errors are in the fragment itself.
            response = render(request, "history/analytics.html#results", context)
        else:
            response = render(request, "history/analytics.html", context, status=400)
    else:
        results_html = _results_html(filters, report(request.user, filters, manager=manager))
        if fragment:
            response = HttpResponse(results_html)
        else:
            response = render(
                request, "history/analytics.html", {"form": form, "results_html": results_html}
            )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _results_html(filters: Filters, data: dict) -> str:
    """The charts, legends and tables, rendered once per cached report.

    Drawing a few thousand SVG shapes and table cells costs more than every
    other part of a cached request together, and their HTML only depends on
    what the report's cache key covers.
    """
    key = f"{data['key']}:html:2"  # the number goes up when the panels' HTML changes
    html = cache.get(key)
    if html is None:
        query = urlencode({k: str(v) for k, v in vars(filters).items() if v})
        panels = [_panel(CHARTS[slug], result, query) for slug, result in data["charts"].items()]
        html = render_to_string(
            "history/analytics.html#results", {"panels": panels, "computed_at": data["computed_at"]}
        )
        cache.set(key, html, CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308  rendered by our own template, autoescaped


@require_GET
def chart_csv(request, chart):
    spec = CHARTS.get(chart)
    if spec is None:
        raise Http404("No such chart")
    manager = is_manager(request.user)
    form, filters = _filters_from(request, manager)
    if filters is None:
        problems = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in form.errors.items()
        )
        return HttpResponse(
            f"Invalid filters. {problems}\n", status=400, content_type="text/plain; charset=utf-8"
        )
    rows = report(request.user, filters, manager=manager)["charts"][chart].rows
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"deploychecks-{chart}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # as the record's exports
    writer = csv.writer(response)
    writer.writerow(spec.columns)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return response


# --- Panels: a chart's SVG, legend and table -----------------------------------------------


def _cell(value):
    return "—" if value is None else value


def _panel(spec: Chart, result: Result, query: str) -> dict:
    rows = result.rows
    svg, legend = _draw(spec, rows) if rows else (None, [])
    csv_url = reverse("history:chart_csv", args=[spec.slug]) + (f"?{query}" if query else "")
    definition = spec.definition
    if _drawn_by_month(spec, rows):
        definition += (
            " Drawn by month over more than a year (a week counts in the month of its "
            "Monday); the table and the CSV keep one row per week."
        )
    return {
        "slug": spec.slug,
        "title": spec.title,
        "definition": definition,
        "columns": spec.columns,
        "rows": [[_cell(v) for v in row] for row in rows],
        "facts": result.facts,
        "svg": svg,
        "legend": legend,
        "csv_url": csv_url,
    }


def _listing(pairs) -> str:
    return "; ".join(f"{label} {value}" for label, value in pairs)


def _draw(spec: Chart, rows: list[tuple]):
    """The SVG and its legend [(css key, name)] for one chart's rows."""
    chart_id = f"chart-{spec.slug}"
    labels = [str(row[0]) for row in rows]
    if spec.slug == "deployments-per-week":
        series = [(status, S(status).label) for status in STATUS_ORDER]
        values = [list(row[1 : 1 + len(series)]) for row in rows]
        period = "weeks"
        if _drawn_by_month(spec, rows):
            labels, values = _by_month(labels, values)
            period = "months"
        totals = [sum(row[i] for row in values) for i in range(len(series))]
        desc = (
            f"{sum(totals)} deployments in {len(labels)} {period} from {labels[0]} to "
            f"{labels[-1]}: "
            + _listing((n, name.lower()) for (_, name), n in zip(series, totals, strict=True) if n)
            + "."
        )
        svg = charts.stacked_bars(
            chart_id=chart_id,
            title=spec.title,
            desc=desc,
            labels=labels,
            series=series,
            values=values,
        )
        return svg, [s for s, n in zip(series, totals, strict=True) if n]
    if spec.slug == "overrides":
        series = [("golive", "Going live"), ("complete", "Completing")]
        values = [[row[1], row[2]] for row in rows]
        total = sum(row[3] for row in rows)
        desc = f"{total} gate overrides in {len(labels)} months from {labels[0]} to {labels[-1]}."
        svg = charts.stacked_bars(
            chart_id=chart_id,
            title=spec.title,
            desc=desc,
            labels=labels,
            series=series,
            values=values,
        )
        return svg, series
    if spec.slug == "follow-ups-open":
        series = [("followups", "Open")]
        values = [[row[1]] for row in rows]
        desc = (
            f"Follow-ups open at the end of each of {len(labels)} weeks from {labels[0]} to "
            f"{labels[-1]}; {rows[-1][1]} open in the last week."
        )
        svg = charts.stacked_bars(
            chart_id=chart_id,
            title=spec.title,
            desc=desc,
            labels=labels,
            series=series,
            values=values,
        )
        return svg, series
    if spec.slug == "rollback-rate":
        rates = [row[3] for row in rows]
        known = [
            (label, rate) for label, rate in zip(labels, rates, strict=True) if rate is not None
        ]
        worst = max(known, key=lambda pair: pair[1])
        desc = (
            f"Monthly rollback rate from {labels[0]} to {labels[-1]}; highest "
            f"{worst[1]}% in {worst[0]}."
        )
        svg = charts.line_chart(
            chart_id=chart_id,
            title=spec.title,
            desc=desc,
            labels=labels,
            values=rates,
            unit="%",
            series="rate",
            maximum=min(100, charts.nice_max(worst[1] or 1)),
        )
        return svg, [("rate", "Rollback rate (%)")]
    series, values, text = _bar_series(spec.slug, rows)
    desc = (
        _listing(
            (
                label,
                ", ".join(
                    f"{name.lower()} {'—' if v is None else text(v)}"
                    for (_, name), v in zip(series, row, strict=True)
                ),
            )
            for label, row in zip(labels, values, strict=True)
        )
        + "."
    )
    svg = charts.horizontal_bars(
        chart_id=chart_id,
        title=spec.title,
        desc=desc,
        labels=labels,
        series=series,
        values=values,
        text=text,
    )
    return svg, series


def _drawn_by_month(spec: Chart, rows: list[tuple]) -> bool:
    """Whether the weekly chart is drawn by month: past a year its bars get too thin on a phone."""
    return spec.slug == "deployments-per-week" and len(rows) > WEEKS_DRAWN


def _by_month(weeks: list[str], values: list[list[int]]) -> tuple[list[str], list[list[int]]]:
    """Weekly counts added up per month ("YYYY-MM") of each week's Monday, in order."""
    months: dict[str, list[int]] = {}
    for week, row in zip(weeks, values, strict=True):
        total = months.setdefault(week[:7], [0] * len(row))
        for i, n in enumerate(row):
            total[i] += n
    return list(months), list(months.values())


def _duration_text(values) -> Callable[[float], str]:
    """How a chart writes its durations: in minutes, or in hours if any reaches two hours.

    One unit per chart, so bars side by side read alike (the table keeps minutes).
    """
    if max((abs(v) for v in values if v is not None), default=0) >= 120:
        # Tenths of an hour, or hundredths below six minutes so a short bar does not read 0.
        return lambda minutes: f"{round(minutes / 60, 1 if abs(minutes) >= 6 else 2):g} h"
    return lambda minutes: f"{minutes:g} min"


def _bar_series(slug: str, rows: list[tuple]):
    """The horizontal bar charts: their series, the values per row, how a value reads."""
    if slug == "phase-duration":
        values = [[row[2]] for row in rows]
        return [("median", "Median")], values, _duration_text(v for row in values for v in row)
    if slug == "skipped-items":
        return [("na", "N/A"), ("skipped", "Left open")], [[row[1], row[2]] for row in rows], str
    if slug == "signoff-delay":
        values = [[row[2], row[3]] for row in rows]
        return (
            [("median", "Median"), ("p90", "90th percentile")],
            values,
            _duration_text(v for row in values for v in row),
        )
    return [("count", "Reminders")], [[row[1]] for row in rows], str
