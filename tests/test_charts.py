"""The reports' charts: matplotlib's SVG, inline, self-contained, with its text as text."""

from __future__ import annotations

import re

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
            [[0.1, 0.4], [None, 0.05]],
            [[False, True], [False, False]],
        )
    )
    assert "temp" in grid and "0.40" in grid  # a small grid writes each score in its cell
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
