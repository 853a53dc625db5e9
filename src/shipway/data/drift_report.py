"""A data drift report: the per-column verdicts, as JSON and as one self-contained HTML page.

The page has no scripts and loads nothing: each column's reference and current distributions
are drawn as inline SVG, so the file can be mailed, attached to a ticket or archived.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shipway import charts
from shipway.stats.columns import NUMERIC, category_counts, numeric_values
from shipway.stats.drift import DriftDetector, DriftResult

_BINS = 30
_TOP_CATEGORIES = 15


@dataclass
class DriftReport:
    result: DriftResult
    reference_name: str = "reference"
    current_name: str = "current"
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def dataset_drift(self) -> bool:
        return self.result.dataset_drift

    @property
    def drifted_columns(self) -> list[str]:
        return self.result.drifted_columns

    @property
    def columns(self) -> list[Any]:
        return self.result.columns

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference_name,
            "current": self.current_name,
            **self.result.to_dict(),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, default=_json_default)
        if path is not None:
            Path(path).write_text(text)
        return text

    def save_html(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.html())
        return target

    def html(self) -> str:
        r = self.result
        verdict = "drift detected" if r.dataset_drift else "no dataset drift"
        rows = []
        for c in r.columns:
            score = "–" if c.score is None else f"{c.score:.4g}"
            threshold = (
                "–" if c.threshold is None else f"{'p <' if c.is_pvalue else '≥'} {c.threshold:g}"
            )
            state = (
                "drifted"
                if c.drifted
                else ("ok" if c.status == "ok" else c.status.replace("_", " "))
            )
            chart = _svg(self.charts.get(c.column)) if c.column in self.charts else ""
            rows.append(
                f"<tr class='{'bad' if c.drifted else ''}'><td><b>{_e(c.column)}</b><br><small>{_e(c.kind)}</small></td>"
                f"<td>{_e(state)}</td><td>{_e(c.method or '–')}</td><td>{score}</td><td>{threshold}</td>"
                f"<td>{c.n_reference:,} / {c.n_current:,}</td><td>{c.missing_reference:.1%} / {c.missing_current:.1%}</td>"
                f"<td><small>{_e(c.note)}</small></td></tr>"
            )
            if chart:  # a row of its own: at the width of a table cell its labels were 4 px
                rows.append(f"<tr class=chart><td colspan=8>{chart}</td></tr>")
        return _PAGE.format(
            title=_e(f"Data drift: {self.current_name} vs {self.reference_name}"),
            verdict=_e(verdict),
            summary=_e(
                f"{r.n_drifted} of {sum(c.status == 'ok' for c in r.columns)} compared columns drifted "
                f"({r.share_drifted:.0%}; the dataset drifts at ≥ {r.drift_share:.0%})"
            ),
            settings=_e(json.dumps(r.settings, default=_json_default)),
            rows="\n".join(rows),
            cls="bad" if r.dataset_drift else "good",
        )


def drift_report(
    reference: Any,
    current: Any,
    *,
    reference_name: str = "reference",
    current_name: str = "current",
    charts: bool = True,
    **settings: Any,
) -> DriftReport:
    """Compare two DataFrames column by column (settings as for :class:`DriftDetector`)."""
    result = DriftDetector(**settings).fit(reference).score(current)
    report = DriftReport(result, reference_name, current_name)
    if charts:
        for c in result.columns:
            if c.status == "ok":
                report.charts[c.column] = _chart_data(
                    c.kind, reference[c.column], current[c.column]
                )
    return report


def _chart_data(kind: str, reference: Any, current: Any) -> dict[str, Any]:
    if kind == NUMERIC:
        ref, _, _ = numeric_values(reference)
        cur, _, _ = numeric_values(current)
        both = np.concatenate([ref, cur])
        low, high = np.quantile(both, [0.005, 0.995])
        if high <= low:
            low, high = float(both.min()) - 0.5, float(both.max()) + 0.5
        edges = np.linspace(low, high, _BINS + 1)
        ref_hist = np.histogram(np.clip(ref, low, high), edges)[0] / max(ref.size, 1)
        cur_hist = np.histogram(np.clip(cur, low, high), edges)[0] / max(cur.size, 1)
        return {
            "labels": [f"{low:.3g}", f"{high:.3g}"],
            "reference": ref_hist.tolist(),
            "current": cur_hist.tolist(),
            "kind": kind,
        }
    ref_counts, _ = category_counts(reference)
    cur_counts, _ = category_counts(current)
    top = sorted(
        set(ref_counts) | set(cur_counts),
        key=lambda k: -(ref_counts.get(k, 0) + cur_counts.get(k, 0)),
    )[:_TOP_CATEGORIES]
    ref_total, cur_total = max(sum(ref_counts.values()), 1), max(sum(cur_counts.values()), 1)
    return {
        "labels": top,
        "reference": [ref_counts.get(k, 0) / ref_total for k in top],
        "current": [cur_counts.get(k, 0) / cur_total for k in top],
        "kind": kind,
    }


def _svg(chart: dict[str, Any] | None) -> str:
    if not chart or not chart["reference"]:
        return ""

    drawn = charts.bars(
        chart["labels"],
        {"reference": chart["reference"], "current": chart["current"]},
        numeric=chart["kind"] == NUMERIC,
        alt="reference (blue) and current (orange) distributions",
    )
    return drawn or ""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }}
h1 {{ font-size: 1.3rem; }} .good {{ color: #2b7a3d; }} .bad {{ color: #b3261e; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; }}
tr.bad td:first-child {{ border-left: 4px solid #b3261e; }} small {{ color: #666; }}
tr:has(+ tr.chart) td {{ border-bottom: none; }} tr.chart svg {{ width: 360px; }}
.legend span {{ display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }}
</style></head><body>
<h1>{title}</h1>
<p class="{cls}"><b>{verdict}</b>: {summary}</p>
<p class="legend">distributions: <span style="background:#8aa4c8"></span>reference <span style="background:#e07b39"></span>current</p>
<table><tr><th>column</th><th>verdict</th><th>test</th><th>score</th><th>drift when</th><th>values ref / cur</th><th>missing ref / cur</th><th>note</th></tr>
{rows}
</table>
<p><small>settings: {settings}</small></p>
</body></html>
"""
