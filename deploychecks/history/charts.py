"""Small server-rendered SVG charts: stacked bars, a line, horizontal bars.

No JavaScript charting library: the page must work under a CSP without inline
scripts or styles, print, and stay readable on a phone. Every string goes
through `format_html` (item titles and role names are user text), colours
come from CSS classes (`series-<key>`, in static/css/analytics.css) and each
chart is `role="img"` with a <title> and <desc>; the page also shows the
numbers as a table, since a picture alone is no use to a screen reader.
"""

import math
from collections.abc import Callable, Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# The coordinate system; the SVG scales to its container (width 100%).
# 360 wide keeps 11–12 px text readable (about 10 px) on a 375 px phone.
WIDTH = 360
LEFT, RIGHT, TOP, BOTTOM = 36, 10, 12, 28
MAX_X_LABELS = 4
LABEL_CHARS = 44


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    power = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def whole_ticks(value: float, most: int = 5) -> list[int]:
    """A count's axis ticks: whole numbers from 0 to `value` or above, in at most `most` steps.

    A half-way tick of a round maximum (2.5 of 5) would be a fraction. The
    step is 1, 2 or 5 times a power of ten.
    """
    top = max(math.ceil(value), 1)
    power = 1
    while True:
        for step in (power, 2 * power, 5 * power):
            if math.ceil(top / step) <= most:
                return list(range(0, step * math.ceil(top / step) + 1, step))
        power *= 10


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def _c(value: float) -> str:
    """A coordinate, to one decimal (format_html escapes its arguments to strings first)."""
    return f"{value:.1f}"


def _clip(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(chart_id: str, title: str, desc: str, height: int, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" id="{id}" role="img" viewBox="0 0 {w} {h}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" aria-labelledby="{id}-title {id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=WIDTH,
        h=height,
        title=title,
        desc=desc,
        body=body,
    )


def _x_labels(labels: Sequence[str], centre_of, y: float) -> SafeString:
    """At most MAX_X_LABELS labels, evenly spread (the table has them all)."""
    every = max(1, -(-len(labels) // MAX_X_LABELS))
    shown = range(0, len(labels), every)
    return format_html_join(
        "",
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((_c(centre_of(i)), y, labels[i]) for i in shown),
    )


def _y_axis(top: float, bottom: float, ticks: Sequence[float], unit: str) -> SafeString:
    """A grid line and label at each tick; the last tick is the axis maximum."""
    lines = []
    for tick in ticks:
        y = bottom - (bottom - top) * tick / ticks[-1]
        lines.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="axis-label" x="{}" y="{}" text-anchor="end">{}{}</text>',
                LEFT,
                WIDTH - RIGHT,
                _c(y),
                _c(y),
                LEFT - 4,
                _c(y + 4),
                _number(tick),
                unit,
            )
        )
    return mark_safe("".join(lines))  # noqa: S308  each line built by format_html


def stacked_bars(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: Sequence[Sequence[float]],
    height: int = 240,
) -> SafeString:
    """One bar per label, stacked from `series` [(css key, name)].

    values[i][j] is the number of label i in series j: a count, so the axis
    has whole-number ticks.
    """
    plot_top, plot_bottom = TOP, height - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT
    ticks = whole_ticks(max((sum(row) for row in values), default=0))
    maximum = ticks[-1]
    band = plot_width / max(len(labels), 1)
    bar = max(band * 0.8, 1)

    def centre(i):
        return LEFT + band * i + band / 2

    def y_of(value):
        return plot_bottom - (plot_bottom - plot_top) * value / maximum

    rects = []
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        base = 0
        for (key, name), value in zip(series, row, strict=True):
            if not value:
                continue
            rects.append(
                format_html(
                    '<rect class="series-{}" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}: {} {}</title></rect>",
                    key,
                    _c(centre(i) - bar / 2),
                    _c(y_of(base + value)),
                    _c(bar),
                    _c(y_of(base) - y_of(base + value)),
                    label,
                    _number(value),
                    name.lower(),
                )
            )
            base += value
    body = format_html(
        "{}{}{}",
        _y_axis(plot_top, plot_bottom, ticks, ""),
        mark_safe("".join(rects)),  # noqa: S308  each rect built by format_html
        _x_labels(labels, centre, height - 8),
    )
    return _svg(chart_id, title, desc, height, body)


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    unit: str = "",
    series: str = "line",
    maximum: float | None = None,
    height: int = 220,
) -> SafeString:
    """A line through `values` (None leaves a gap), with a dot and tooltip at each point."""
    plot_top, plot_bottom = TOP, height - BOTTOM
    # Room on the right for the last x label, centred on the last point.
    plot_width = WIDTH - LEFT - RIGHT - 14
    maximum = maximum or nice_max(max((v for v in values if v is not None), default=0))
    step = plot_width / max(len(labels) - 1, 1)

    def x_of(i):
        return LEFT + (step * i if len(labels) > 1 else plot_width / 2)

    def y_of(value):
        return plot_bottom - (plot_bottom - plot_top) * value / maximum

    runs, current = [], []
    for i, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(f"{_c(x_of(i))},{_c(y_of(value))}")
    if current:
        runs.append(current)
    lines = format_html_join(
        "",
        '<polyline class="series-{}" fill="none" points="{}"/>',
        ((series, " ".join(run)) for run in runs if len(run) > 1),
    )
    dots = format_html_join(
        "",
        '<circle class="series-{}" cx="{}" cy="{}" r="3"><title>{}: {}{}</title></circle>',
        (
            (series, _c(x_of(i)), _c(y_of(v)), labels[i], _number(v), unit)
            for i, v in enumerate(values)
            if v is not None
        ),
    )
    axis = _y_axis(plot_top, plot_bottom, (0, maximum / 2, maximum), unit)
    body = format_html("{}{}{}{}", axis, lines, dots, _x_labels(labels, x_of, height - 8))
    return _svg(chart_id, title, desc, height, body)


def horizontal_bars(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: Sequence[Sequence[float | None]],
    unit: str = "",
    text: Callable[[float], str] | None = None,
) -> SafeString:
    """Per label, one bar for each of `series`, the label on its own line above them.

    Labels above the bars (not beside) leave the full width to the bars on a
    phone. Negative values (a sign-off before go-live) extend left of zero.
    `text` writes a value (default: the number and `unit`).
    """
    text = text or (lambda value: f"{_number(value)}{unit}")
    bar, gap, label_height, group_gap = 12, 3, 16, 10
    numbers = [v for row in values for v in row if v is not None]
    high = nice_max(max(numbers, default=0))
    low = -nice_max(-min(numbers)) if numbers and min(numbers) < 0 else 0
    plot_left, plot_right = 4, WIDTH - 60

    def x_of(value):
        return plot_left + (plot_right - plot_left) * (value - low) / (high - low)

    parts, y = [], TOP
    for label, row in zip(labels, values, strict=True):
        parts.append(
            format_html(
                '<text class="bar-label" x="{}" y="{}"><title>{}</title>{}</text>',
                plot_left,
                y + 11,
                label,
                _clip(label),
            )
        )
        y += label_height
        for (key, name), value in zip(series, row, strict=True):
            if value is not None:
                start, end = sorted((x_of(0), x_of(value)))
                parts.append(
                    format_html(
                        '<rect class="series-{}" x="{}" y="{}" width="{}" height="{}">'
                        "<title>{}, {}: {}</title></rect>"
                        '<text class="value-label" x="{}" y="{}">{}</text>',
                        key,
                        _c(start),
                        y,
                        _c(max(end - start, 1)),
                        bar,
                        label,
                        name.lower(),
                        text(value),
                        _c(end + 4),
                        y + 10,
                        text(value),
                    )
                )
            else:
                parts.append(
                    format_html(
                        '<text class="value-label" x="{}" y="{}">—</text>', _c(x_of(0) + 4), y + 10
                    )
                )
            y += bar + gap
        y += group_gap
    zero = format_html(
        '<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>',
        _c(x_of(0)),
        _c(x_of(0)),
        TOP,
        y - group_gap,
    )
    # Each part was built by format_html.
    parts_html = mark_safe("".join(parts))  # noqa: S308
    return _svg(chart_id, title, desc, y + 4, format_html("{}{}", zero, parts_html))
