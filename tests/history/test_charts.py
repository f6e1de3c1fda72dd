"""The SVG builders on their own: escaping, accessibility, scales, gaps and negative bars."""

import re
import sqlite3

import pytest

from deploychecks.history import charts
from deploychecks.history.percentiles import SQLitePercentile, percentile_cont

HOSTILE = '<script>alert("x")</script> & co'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"


def _numbers(attribute: str, svg: str) -> list[float]:
    return [float(v) for v in re.findall(rf'{attribute}="(-?[\d.]+)"', svg)]


def test_every_builder_escapes_labels_titles_and_descriptions():
    svgs = [
        charts.stacked_bars(
            chart_id="a",
            title=HOSTILE,
            desc=HOSTILE,
            labels=[HOSTILE],
            series=[("done", HOSTILE)],
            values=[[3]],
        ),
        charts.line_chart(
            chart_id="b", title=HOSTILE, desc=HOSTILE, labels=[HOSTILE, "x"], values=[1, 2]
        ),
        charts.horizontal_bars(
            chart_id="c",
            title=HOSTILE,
            desc=HOSTILE,
            labels=[HOSTILE],
            series=[("n", HOSTILE)],
            values=[[5]],
        ),
    ]
    for svg in svgs:
        assert "<script>" not in svg
        assert ESCAPED in svg


def test_a_chart_is_an_image_named_by_its_title_and_description():
    svg = charts.line_chart(
        chart_id="rate",
        title="Rollback rate",
        desc="Monthly rates.",
        labels=["2026-01", "2026-02"],
        values=[10.0, 20.0],
        unit="%",
    )
    assert svg.startswith('<svg class="chart" id="rate" role="img" viewBox="0 0 360 ')
    assert 'width="100%"' in svg and 'aria-labelledby="rate-title rate-desc"' in svg
    assert '<title id="rate-title">Rollback rate</title>' in svg
    assert '<desc id="rate-desc">Monthly rates.</desc>' in svg
    assert "style=" not in svg


def test_stacked_bars_stack_each_series_on_the_previous_one():
    svg = charts.stacked_bars(
        chart_id="w",
        title="t",
        desc="d",
        labels=["w1", "w2"],
        series=[("completed", "Completed"), ("aborted", "Aborted")],
        values=[[2, 2], [1, 0]],
    )
    heights = _numbers("height", svg)
    # Axis maximum 4: two bars of 2 in the first week, one of 1 in the second, none of 0.
    assert len(heights) == 3
    assert heights[0] == heights[1] == 2 * heights[2]
    assert "<title>w1: 2 completed</title>" in svg and "<title>w2: 1 completed</title>" in svg
    assert "aborted" in svg and "w2: 0" not in svg


def test_a_line_breaks_where_there_is_no_value():
    svg = charts.line_chart(
        chart_id="r", title="t", desc="d", labels=list("abcde"), values=[1.0, 2.0, None, 3.0, 4.0]
    )
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 4


def test_horizontal_bars_draw_negative_values_left_of_zero():
    svg = charts.horizontal_bars(
        chart_id="s",
        title="t",
        desc="d",
        labels=["early", "late"],
        series=[("median", "Median")],
        values=[[-10.0], [20.0]],
        unit=" min",
    )
    zero = float(re.search(r'<line class="axis" x1="([\d.]+)"', svg).group(1))
    (early_x, early_width), (late_x, late_width) = [
        (float(x), float(width))
        for x, width in re.findall(
            r'<rect class="series-median" x="([\d.]+)" y="\d+" width="([\d.]+)"', svg
        )
    ]
    assert early_x < zero and abs(early_x + early_width - zero) < 0.2
    assert late_x == zero and abs(late_width - 2 * early_width) < 0.2
    assert "-10 min" in svg and "20 min" in svg


def test_long_labels_are_shortened_in_the_chart_but_kept_whole_in_their_tooltip():
    label = "Confirm that every downstream consumer has been told about the change window"
    svg = charts.horizontal_bars(
        chart_id="s", title="t", desc="d", labels=[label], series=[("na", "N/A")], values=[[3]]
    )
    assert f"<title>{label}</title>" in svg
    assert f"{label[: charts.LABEL_CHARS - 1]}…" in svg


def test_only_a_few_x_labels_are_shown_on_a_long_axis():
    labels = [f"2026-{week:02}" for week in range(1, 53)]
    svg = charts.stacked_bars(
        chart_id="w",
        title="t",
        desc="d",
        labels=labels,
        series=[("completed", "Completed")],
        values=[[1]] * 52,
    )
    assert svg.count('text-anchor="middle"') <= charts.MAX_X_LABELS


def _y_labels(svg: str) -> list[str]:
    return re.findall(
        r'<text class="axis-label" x="[\d.]+" y="[\d.]+" text-anchor="end">'
        r"([^<]*)</text>",
        svg,
    )


@pytest.mark.parametrize(
    "total, labels",
    [
        (1, ["0", "1"]),
        (3, ["0", "1", "2", "3"]),
        (5, ["0", "1", "2", "3", "4", "5"]),
        (7, ["0", "2", "4", "6", "8"]),
        (23, ["0", "5", "10", "15", "20", "25"]),
        (101, ["0", "50", "100", "150"]),
    ],
)
def test_stacked_bars_count_on_a_whole_number_axis(total, labels):
    svg = charts.stacked_bars(
        chart_id="w",
        title="t",
        desc="d",
        labels=["w1", "w2"],
        series=[("completed", "Completed")],
        values=[[total], [1]],
    )

    assert _y_labels(svg) == labels
    # The tallest bar reaches the top tick exactly when the total is a tick.
    if labels[-1] == str(total):
        assert max(_numbers("height", svg)) == 240 - charts.TOP - charts.BOTTOM


def test_axis_maximum_is_a_round_number_at_or_above_the_largest_value():
    assert [charts.nice_max(v) for v in (0, 0.4, 3, 7, 10, 11, 23, 99, 101, 2600)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        25,
        100,
        200,
        5000,
    ]


def test_the_sqlite_percentile_matches_postgresqls_percentile_cont():
    assert percentile_cont([10, 20, 30, 40], 0.5) == 25
    assert percentile_cont([20, 40, 60], 0.9) == 56
    assert percentile_cont([], 0.5) is None
    db = sqlite3.connect(":memory:")
    db.create_aggregate("dc_percentile", 2, SQLitePercentile)
    db.execute("CREATE TABLE t (v INTEGER)")
    db.executemany("INSERT INTO t VALUES (?)", [(40,), (None,), (10,), (30,), (20,)])
    assert db.execute("SELECT dc_percentile(v, 0.5) FROM t").fetchone() == (25.0,)
