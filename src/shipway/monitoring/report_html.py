"""A monitoring report as one self-contained HTML page: charts drawn by matplotlib as inline
SVG (:mod:`shipway.charts`), no scripts, nothing fetched.

Charts: drift per feature and window as a heat map; performance per window, realised from
labels and estimated with its band; the model versions that answered each window; rows and
label coverage; latency p50/p99; errors; fairness gaps; and the deployment's alerts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipway import charts
from shipway.monitoring.alerts import fired, later

if TYPE_CHECKING:
    from shipway.types import WindowReport

NO_VALUES = "<p class=muted>no values yet</p>"


def _e(text: Any) -> str:
    return html.escape(str(text))


def _lines(
    series: Mapping[str, Sequence[float | None]],
    labels: list[str],
    *,
    band: tuple[list[Any], list[Any]] | None = None,
    band_label: str = "",
    unit: str = "",
    from_zero: bool = False,
    percent: bool = False,
    counts: bool = False,
    styles: Mapping[str, tuple[int, str]] | None = None,
) -> str:
    drawn = charts.lines(
        series,
        labels,
        band=band,
        band_label=band_label,
        unit=unit,
        from_zero=from_zero,
        percent=percent,
        counts=counts,
        styles=styles,
    )
    return drawn or NO_VALUES


def _heatmap(reports: list[Any]) -> str:
    columns = sorted({c for r in reports for c in r.data_drift["scores"]})
    if not columns:
        return "<p class=muted>no features</p>"
    strengths = [[_strength(r, c) for r in reports] for c in columns]
    texts = [[_score_text(r, c) for r in reports] for c in columns]
    drifted = [[c in r.data_drift["drifted_columns"] for r in reports] for c in columns]
    found = charts.heatmap(
        columns,
        [r.window for r in reports],
        strengths,
        texts,
        drifted,
        alt="drift strength per feature and window against its threshold; red: past it",
    )
    return found or NO_VALUES


def _strength(report: WindowReport, column: str) -> float | None:
    """The verdict's strength against its threshold; for a report written before strengths
    were kept, 1.5 where it drifted and 0.5 where it did not."""
    kept = report.data_drift.get("strengths")
    if kept is not None:
        value = kept.get(column)
        return None if value is None else float(value)
    if report.data_drift["scores"].get(column) is None:
        return None
    return 1.5 if column in report.data_drift["drifted_columns"] else 0.5


def _score_text(report: WindowReport, column: str) -> str:
    score = report.data_drift["scores"].get(column)
    if score is None:
        return ""
    pvalue = column in report.data_drift.get("pvalues", [])
    return f"p={score:.2g}" if pvalue else f"{score:.2f}"


def _performance(reports: list[Any]) -> str:
    sample = next((r.realised for r in reports if r.realised), None) or {}
    metric = "mae" if "mae" in sample else "accuracy"
    realised = [r.realised.get(metric) if r.realised else None for r in reports]
    series = {f"{metric} from labels": realised}
    band = None
    if any(r.estimated for r in reports):
        series[f"{metric} estimated (CBPE)"] = [
            r.estimated[metric]["value"] if r.estimated else None for r in reports
        ]
        band = (
            [r.estimated[metric]["lower"] if r.estimated else None for r in reports],
            [r.estimated[metric]["upper"] if r.estimated else None for r in reports],
        )
    return _lines(series, [r.window for r in reports], band=band, band_label="estimate's band")


def _version_shares(reports: list[Any]) -> str:
    """Each model version's share of every window's rows: a canary's share growing beside the
    stable version's, then the promoted version alone."""
    found: dict[str, list[float]] = {}
    for i, report in enumerate(reports):
        versions = report.extra.get("health", {}).get("versions", {})
        total = sum(v.get("rows", 0) for v in versions.values())
        for version, health in versions.items():
            share = health.get("rows", 0) / total if total else 0.0
            found.setdefault(f"v{version}", [0.0] * len(reports))[i] = share
    ordered = dict(sorted(found.items(), key=lambda kv: int(kv[0][1:])))
    chart = charts.shares(ordered, [r.window for r in reports])
    return chart or "<p class=muted>no version answered yet</p>"


def _quality(quality: dict[str, Any]) -> str:
    parts = []
    for kind, found in quality.items():
        if isinstance(found, dict) and found:
            parts.append(
                f"{kind.replace('_', ' ')}: " + ", ".join(f"{c} {v:.1%}" for c, v in found.items())
            )
        elif found:
            parts.append(f"{kind.replace('_', ' ')}: {', '.join(map(str, found))}")
    return "; ".join(parts) or "-"


def _versions(report: WindowReport) -> str:
    """Which versions answered a window, by share of its rows: v4 80%, v6 20%."""
    found = report.extra.get("health", {}).get("versions", {})
    total = sum(v.get("rows", 0) for v in found.values())
    if not total:
        return ", ".join(f"v{v}" for v in report.versions) or "-"
    shares = sorted(found.items(), key=lambda kv: -kv[1].get("rows", 0))
    return ", ".join(f"v{k} {v.get('rows', 0) / total:.0%}" for k, v in shares if v.get("rows"))


def _shown(found: tuple[float | None, str] | None) -> str:
    if found is None:
        return "-"
    value, window = found
    return f"{'n/a' if value is None else f'{value:.4g}'} in {window}"


def render(deployment: str, reports: list[Any], alerts: list[Any]) -> str:
    labels = [r.window for r in reports]
    latency: dict[str, list[float | None]] = {}
    styles: dict[str, tuple[int, str]] = {}  # a version's colour; p99 dashed beside its p50
    for r in reports:
        for version in r.extra.get("health", {}).get("versions", {}):
            for q, dash in (("p50", "-"), ("p99", "--")):
                latency.setdefault(f"v{version} {q}", [None] * len(reports))
                styles.setdefault(f"v{version} {q}", (len(styles) // 2, dash))
    for i, r in enumerate(reports):
        for version, health in r.extra.get("health", {}).get("versions", {}).items():
            latency[f"v{version} p50"][i] = health["latency_p50_ms"]
            latency[f"v{version} p99"][i] = health["latency_p99_ms"]
    errors = {
        "error rate": [r.extra.get("health", {}).get("error_rate") for r in reports],
    }
    dropped = {
        "dropped log rows": [
            float(r.extra.get("health", {}).get("dropped_rows", 0)) for r in reports
        ]
    }
    fairness: dict[str, list[float | None]] = {}
    for i, r in enumerate(reports):
        for column, found in r.extra.get("fairness", {}).items():
            fairness.setdefault(f"{column}: demographic parity gap", [None] * len(reports))[i] = (
                found["demographic_parity_difference"]
            )
            fairness.setdefault(f"{column}: equalised odds gap", [None] * len(reports))[i] = found[
                "equalised_odds_difference"
            ]
    rows = [
        f"<tr><td>{_e(r.window)}</td><td>{_e(_versions(r))}</td><td>{r.rows:,}</td>"
        f"<td>{r.label_coverage:.0%}</td>"
        f"<td>{_e(', '.join(r.data_drift['drifted_columns']) or '-')}</td>"
        f"<td>{'yes' if r.prediction_drift['drifted'] else '-'}</td>"
        f"<td>{'yes' if r.target_drift and r.target_drift['drifted'] else '-'}</td>"
        f"<td>{_e(_quality(r.quality))}</td></tr>"
        for r in reports
    ]
    alert_rows = [
        f"<tr><td>{a.alert_id}</td><td>{_e(a.rule)}</td><td>{_e(a.severity)}</td><td>{_e(a.status)}</td>"
        f"<td>{_e(_shown(fired(a)))}</td><td>{_e(_shown(later(a)))}</td></tr>"
        for a in alerts
    ]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Monitoring: {_e(deployment)}</title>
<style>body{{font:14px system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}}
h2{{margin-top:1.6em;font-size:16px}} .muted{{color:#888}}
table{{border-collapse:collapse;width:100%;font-size:12px}} td,th{{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left}}</style></head><body>
<h1>Monitoring: {_e(deployment)}</h1>
<p class=muted>{len(reports)} window(s), {sum(r.rows for r in reports):,} predictions.</p>
<h2>Data drift per feature</h2><p class=muted>each cell: the feature's drift score in that window (a distance, or p= a p-value), shaded by how far it is from its test's threshold: blue short of it, red past it, darker the further; bold: the window was flagged</p>{_heatmap(reports)}
<h2>Performance</h2>{_performance(reports)}
<h2>Model versions</h2><p class=muted>the share of each window's rows every version answered: a canary beside the stable version, then the one promoted</p>{_version_shares(reports)}
<h2>Rows and label coverage</h2>{_lines({"rows": [float(r.rows) for r in reports]}, labels, counts=True)}
{_lines({"label coverage": [r.label_coverage for r in reports]}, labels, percent=True)}
<h2>Latency</h2>{_lines(latency, labels, unit="ms", from_zero=True, styles=styles)}
<h2>Errors</h2><p class=muted>requests refused or failed, of all requests; rows the servers' log could not keep up with</p>
{_lines(errors, labels, percent=True)}
{_lines(dropped, labels, counts=True)}
{"<h2>Fairness</h2>" + _lines(fairness, labels) if fairness else ""}
<h2>Windows</h2><p class=muted>versions: the share of the window's rows each model version answered (a canary's share beside the stable version's)</p><table><tr><th>window</th><th>versions</th><th>rows</th><th>labels</th><th>drifted columns</th><th>prediction drift</th><th>target drift</th><th>quality</th></tr>{"".join(rows)}</table>
<h2>Alerts</h2>{"<table><tr><th>id</th><th>rule</th><th>severity</th><th>status</th><th>fired at (window)</th><th>latest (window)</th></tr>" + "".join(alert_rows) + "</table>" if alert_rows else "<p class=muted>none</p>"}
</body></html>"""
