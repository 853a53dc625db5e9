"""Charts for the HTML reports, drawn by matplotlib as inline SVG: a page stays one file with
no script and nothing fetched, and every chart is a real one (axes, ticks, legend).

Each function takes plain lists and returns an ``<svg>`` element as text. matplotlib is
imported when the first chart is drawn, with the object API only (no pyplot), so a server
thread drawing a report never touches a global figure or a GUI backend.
"""

from __future__ import annotations

import functools
import io
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

WIDTH = 7.2  # inches at 100 dpi: the reports' 720-pixel column
COLOURS = ["#08519c", "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b", "#8c6d31"]
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)  # the XML declaration and doctype matplotlib writes
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
# Inline in HTML an <svg> needs no namespace declarations (the parser knows xlink:href), and
# its size comes from the page: the viewBox keeps the proportions.
_ROOT_ATTRIBUTES = re.compile(r'\s(?:xmlns(?::xlink)?|width|height)="[^"]*"')


_LOCK = threading.Lock()  # matplotlib's settings are the process's: one chart at a time
_SETTINGS: dict[Any, Any] = {
    "text.parse_math": False,  # a category "$10-$20" is text, not mathematics
    "svg.fonttype": "none",  # text stays text: searchable, and read by screen readers
    "svg.hashsalt": "shipway",  # ids that depend on content only, the same in every chart
}
Chart = TypeVar("Chart", bound=Callable[..., "str | None"])


def _drawn(draw: Chart) -> Chart:
    """Draw under the lock, with the report's settings, restored after."""

    @functools.wraps(draw)
    def drawing(*args: Any, **kwargs: Any) -> str | None:
        import matplotlib

        with _LOCK, matplotlib.rc_context(_SETTINGS):
            return draw(*args, **kwargs)

    return cast(Chart, drawing)


def _figure(height: float, width: float = WIDTH) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=8)
    return figure, axes


def _svg(figure: Any, alt: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1), count=1)
    head, rest = text.split(">", 1)
    head = _ROOT_ATTRIBUTES.sub("", head)
    label = f' role="img" aria-label="{_attribute(alt)}" style="max-width:100%;height:auto"'
    return head.replace("<svg", "<svg" + label, 1) + ">" + rest


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _window_axis(axes: Any, labels: Sequence[str]) -> None:
    """Windows along x, as many labels as fit without overlapping."""
    n = len(labels)
    width = max((len(label) for label in labels), default=1) * 0.07 + 0.1  # inches a label needs
    step = max(int(-(-n * width // (WIDTH - 0.8))), 1)
    ticks = list(range(0, n, step))
    axes.set_xticks(ticks, [labels[i] for i in ticks])
    axes.set_xlim(-0.5, n - 0.5)


@_drawn
def lines(
    series: Mapping[str, Sequence[float | None]],
    labels: Sequence[str],
    *,
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
    band_label: str = "",
    unit: str = "",
    from_zero: bool = False,
    percent: bool = False,
    counts: bool = False,
    styles: Mapping[str, tuple[int, str]] | None = None,
    alt: str = "",
) -> str | None:
    """One line per series over the windows (None: no value there); ``band``: a shaded range
    (lower, upper) behind them; ``from_zero``: the axis starts at 0, so a change of 10 rows in
    1,500 looks like one; ``percent``: shares, shown as percents from 0; ``counts``: whole
    numbers from 0, with an axis up to at least 1 when every count is 0. ``styles``: a
    series' colour (an index into the palette) and line style ("-", "--", ":"), so series
    that belong together share a colour; by default no two series look alike. None when
    there is no value."""
    if not any(v is not None for values in series.values() for v in values):
        return None
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    figure, axes = _figure(2.0)
    x = np.arange(len(labels))
    if band is not None:
        lower = np.array([np.nan if v is None else v for v in band[0]], dtype=float)
        upper = np.array([np.nan if v is None else v for v in band[1]], dtype=float)
        axes.fill_between(x, lower, upper, color="#9ecae1", alpha=0.4, lw=0, label=band_label)
    for i, (name, values) in enumerate(series.items()):
        colour, dash = (styles or {}).get(name, _distinct_style(i))
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        axes.plot(
            x,
            y,
            marker="o",
            markersize=3,
            lw=1.6,
            ls=dash,
            color=COLOURS[colour % len(COLOURS)],
            label=name,
        )
    _window_axis(axes, labels)
    if percent:
        axes.yaxis.set_major_formatter(_percent())
    if counts:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        top = np.nanmax([np.nan if v is None else v for vs in series.values() for v in vs])
        axes.set_ylim(0, max(float(top) * 1.05, 1.0))
    elif percent or from_zero:
        axes.set_ylim(bottom=0)
    if unit:
        axes.set_ylabel(unit, fontsize=8)
    axes.grid(axis="y", color="#eee", lw=0.8)
    if len(series) > 3:  # many series: the legend beside the chart, not over its lines
        axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    else:
        axes.legend(fontsize=8, frameon=False, loc="best")
    return _svg(figure, alt or ", ".join(series))


@_drawn
def shares(
    series: Mapping[str, Sequence[float]], labels: Sequence[str], *, alt: str = ""
) -> str | None:
    """Stacked shares (0-1) per window: which model version answered how much of each."""
    if not series or not any(sum(v) for v in series.values()):
        return None
    import numpy as np

    figure, axes = _figure(1.8)
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for (name, values), colour in zip(series.items(), COLOURS * 4, strict=False):
        height = np.asarray(values, dtype=float)
        axes.bar(x, height, bottom=bottom, width=0.9, color=colour, label=name)
        bottom += height
    _window_axis(axes, labels)
    axes.set_ylim(0, 1)
    axes.yaxis.set_major_formatter(_percent())
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    return _svg(figure, alt or "share of rows by model version")


DASHES = ("-", "--", ":", "-.")


def _distinct_style(index: int) -> tuple[int, str]:
    """The ``index``-th series' colour and dash: every colour once, then again dashed."""
    return index % len(COLOURS), DASHES[(index // len(COLOURS)) % len(DASHES)]


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


STRENGTH_TOP = 3.0  # the colour scale's end: three times past the threshold, or more


@_drawn
def heatmap(
    rows: Sequence[str],
    labels: Sequence[str],
    strengths: Sequence[Sequence[float | None]],
    texts: Sequence[Sequence[str]],
    flagged: Sequence[Sequence[bool]],
    *,
    alt: str = "",
) -> str | None:
    """A grid of rows × windows shaded by the strength of each verdict against its own
    threshold (0: nothing; 1: at the threshold; see :func:`shipway.stats.drift.strength`), so
    a p-value and a distance read the same way: blue below the threshold, red past it, darker
    the further. A colour bar marks the threshold; each cell shows its score while the grid
    is small enough to read, in bold where the window was flagged."""
    if not rows or not labels:
        return None
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap

    values = np.array(
        [[np.nan if v is None else min(v, STRENGTH_TOP) for v in row] for row in strengths],
        dtype=float,
    )
    marks = np.asarray(flagged, dtype=bool)
    figure, axes = _figure(0.6 + 0.24 * len(rows))
    at = 1.0 / STRENGTH_TOP  # the threshold's place on the scale
    scale = LinearSegmentedColormap.from_list(
        "strength",
        [(0.0, "#f7fbff"), (at - 1e-6, "#9ecae1"), (at, "#fcbba1"), (1.0, "#a50f15")],
    )
    image = axes.imshow(
        values, cmap=scale, vmin=0.0, vmax=STRENGTH_TOP, aspect="auto", interpolation="nearest"
    )
    axes.set_yticks(range(len(rows)), rows)
    _window_axis(axes, labels)
    for side in ("left", "bottom"):
        axes.spines[side].set_visible(False)
    if len(rows) * len(labels) <= 240:
        for (i, j), text in np.ndenumerate(np.asarray(texts, dtype=object)):
            if text:
                weight = "bold" if marks[i, j] else "normal"
                colour = "white" if np.nan_to_num(values[i, j]) > 2 else "#222"
                axes.text(
                    j, i, text, ha="center", va="center", fontsize=6, weight=weight, color=colour
                )
    bar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.01, ticks=[0, 1, 2, 3])
    bar.ax.set_yticklabels(["0", "threshold", "2×", "≥3×"], fontsize=7)
    bar.ax.axhline(1.0, color="#222", lw=1)
    bar.outline.set_visible(False)
    return _svg(figure, alt or "drift strength by row and window; red: past the threshold")


@_drawn
def bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    numeric: bool = False,
    alt: str = "",
) -> str | None:
    """Side-by-side bars per bin or category (two distributions, reference and current). For
    ``numeric`` bins, ``labels`` are the range's two ends."""
    lengths = {len(v) for v in series.values()}
    if not series or lengths == {0}:
        return None
    import numpy as np

    n = lengths.pop()
    figure, axes = _figure(1.5, width=WIDTH / 2)
    axes.spines["left"].set_visible(False)
    axes.set_yticks([])
    width = 0.8 / len(series)
    x = np.arange(n)
    for k, ((name, values), colour) in enumerate(
        zip(series.items(), ["#8aa4c8", "#e07b39"] + COLOURS, strict=False)
    ):
        axes.bar(x + (k - (len(series) - 1) / 2) * width, values, width, color=colour, label=name)
    if numeric:
        axes.set_xticks([-0.5, n - 0.5], list(labels))
    else:
        axes.set_xticks(x, [str(label)[:8] for label in labels])
    axes.tick_params(labelsize=9)
    return _svg(figure, alt or " and ".join(series))
