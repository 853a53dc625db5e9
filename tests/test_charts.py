"""The reports' charts: matplotlib's SVG, inline, self-contained, with its text as text."""

from __future__ import annotations

import re

import pytest

from shipway import charts


def _is_inline_svg(svg: str | None) -> str:
    assert svg is not None and svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<script" not in svg and "http" not in svg and "<?xml" not in svg
    assert 'role="img"' in svg and "viewBox" in svg
    return svg


def test_lines_draw_each_series_with_its_legend_and_band() -> None:
    svg = _is_inline_svg(
        charts.lines(
            {"accuracy from labels": [0.8, None, 0.7], "accuracy estimated": [0.79, 0.75, 0.72]},
            ["March", "April", "May"],
            band=([0.7, 0.7, 0.65], [0.85, 0.8, 0.78]),
            band_label="estimate's band",
        )
    )
    for text in ("accuracy from labels", "accuracy estimated", "estimate's band", "April"):
        assert text in svg  # text stays text: searchable, readable by a screen reader
    assert charts.lines({"a": [None, None]}, ["w1", "w2"]) is None  # nothing to draw


def test_shares_heatmap_and_bars() -> None:
    shares = _is_inline_svg(
        charts.shares({"v1": [1.0, 0.8, 0.0], "v2": [0.0, 0.2, 1.0]}, ["a", "b", "c"])
    )
    assert "v1" in shares and "v2" in shares and "100%" in shares
    grid = _is_inline_svg(
        charts.heatmap(
            ["temp", "wind"],
            ["Jan", "Feb"],
            [[0.1, 4.0], [None, 0.5]],
            [["p=0.8", "p=1e-08"], ["", "0.05"]],
            [[False, True], [False, False]],
        )
    )
    assert "temp" in grid and "p=1e-08" in grid  # a small grid writes each score in its cell
    assert "threshold" in grid and "≥3×" in grid, "a colour bar marks the threshold"
    bars = _is_inline_svg(
        charts.bars(["0", "10"], {"reference": [0.5, 0.5], "current": [0.2, 0.8]}, numeric=True)
    )
    assert len(re.findall(r"<path", bars)) >= 4


def test_many_charts_on_one_page_share_no_conflicting_ids() -> None:
    """Charts sit side by side in one page, so an id two of them define must mean the same."""
    first = charts.lines({"a": [1.0, 2.0]}, ["x", "y"]) or ""
    second = charts.lines({"b": [5.0, 1.0, 3.0]}, ["x", "y", "z"]) or ""

    def definitions(svg: str) -> dict[str, str]:
        found = re.finditer(r'<(\w+) id="((?:m|p)[0-9a-f]{6,})".*?</\1>', svg, re.S)
        return {m.group(2): m.group(0) for m in found}

    one, two = definitions(first), definitions(second)
    assert one and two
    for shared in set(one) & set(two):
        assert one[shared] == two[shared]


def test_labels_are_text_never_mathematics() -> None:
    svg = _is_inline_svg(charts.bars(["$10-$20", "$5"], {"reference": [0.5, 0.5]}))
    assert "$10-$20" in svg
    assert charts.lines({"a $x": [1.0, 2.0]}, ["$bad$$", "y"]) is not None  # no mathtext error


def test_the_heatmap_shades_a_p_value_and_a_distance_by_the_same_strength() -> None:
    """Issue 23, item 9: a small p-value (drift) is dark red, a p-value near 1 pale, as a
    large and a small distance are: shading follows the verdict, not the raw score."""
    from shipway.stats.drift import strength

    assert strength(1.0, 0.05, pvalue=True) == 0.0
    assert strength(0.05, 0.05, pvalue=True) == 1.0
    assert strength(0.0025, 0.05, pvalue=True) == pytest.approx(2.0)
    assert strength(0.2, 0.1, pvalue=False) == 2.0
    assert strength(None, 0.1, pvalue=False) is None
    strong_p, calm_p = strength(1e-6, 0.05, True), strength(0.9, 0.05, True)
    strong_d, calm_d = strength(0.5, 0.1, False), strength(0.01, 0.1, False)
    assert strong_p is not None and calm_p is not None and strong_d is not None
    assert calm_d is not None and strong_p > 1 > calm_p and strong_d > 1 > calm_d
    images = [
        charts.heatmap(["x"], ["w"], [[value]], [["s"]], [[False]]) or ""
        for value in (strong_p, calm_p)
    ]
    assert images[0] != images[1]


def test_series_that_belong_together_share_a_colour_and_none_repeats_by_accident() -> None:
    """Issue 23, item 13: eight latency lines no more reuse the first colours."""
    many = {f"v{v} {q}": [1.0 + v, 2.0] for v in range(4) for q in ("p50", "p99")}
    styles = {name: (i // 2, "-" if name.endswith("p50") else "--") for i, name in enumerate(many)}
    svg = _is_inline_svg(charts.lines(many, ["a", "b"], styles=styles))
    assert "stroke-dasharray" in svg
    default = [charts._distinct_style(i) for i in range(len(charts.COLOURS) * 2)]
    assert len(set(default)) == len(default), "no two series alike by default"


def _texts(svg: str | None) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg or "")


def test_a_count_axis_is_whole_numbers_and_reaches_one_when_all_are_zero() -> None:
    """Issue 23, item 13: no dropped rows read 0.00 to 0.05 on a count axis."""
    zeros = charts.lines({"dropped": [0.0, 0.0, 0.0]}, ["a", "b", "c"], counts=True)
    assert _texts(zeros) == ["a", "b", "c", "0", "1", "dropped"]
    some = _texts(charts.lines({"dropped": [0.0, 3.0, 7.0]}, ["a", "b", "c"], counts=True))
    assert all("." not in t for t in some)
