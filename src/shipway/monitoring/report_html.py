"""A monitoring report as one self-contained HTML page: inline SVG, no scripts, nothing fetched.

Charts: drift per feature and window as a heat map; performance per window, realised from
labels and estimated with its band; rows and label coverage; latency p50/p99; fairness gaps;
and the deployment's alerts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

_W, _H, _PAD = 720, 180, 36


def _e(text: Any) -> str:
    return html.escape(str(text))


def _x(i: int, n: int) -> float:
    return _PAD + (i + 0.5) * (_W - 2 * _PAD) / max(n, 1)


def _lines(
    series: Mapping[str, Sequence[float | None]],
    labels: list[str],
    *,
    band: tuple[list[Any], list[Any]] | None = None,
    unit: str = "",
) -> str:
    values = [v for s in series.values() for v in s if v is not None]
    if band:
        values += [v for v in band[0] + band[1] if v is not None]
    if not values:
        return "<p class=muted>no values yet</p>"
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    n = len(labels)

    def y(v: float) -> float:
        return _H - _PAD - (v - low) / (high - low) * (_H - 2 * _PAD)

    parts = [f'<svg viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img">']
    if band:
        upper = [(i, v) for i, v in enumerate(band[1]) if v is not None]
        lower = [(i, v) for i, v in enumerate(band[0]) if v is not None][::-1]
        if upper and lower:
            outline = " ".join(f"{_x(i, n):.1f},{y(v):.1f}" for i, v in upper + lower)
            parts.append(f'<polygon points="{outline}" fill="#9ecae1" opacity="0.35"/>')
    colours = ["#08519c", "#e6550d", "#31a354", "#756bb1"]
    for (name, points), colour in zip(series.items(), colours, strict=False):
        present = [(i, v) for i, v in enumerate(points) if v is not None]
        if len(present) > 1:
            path = " ".join(f"{_x(i, n):.1f},{y(v):.1f}" for i, v in present)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        parts += [
            f'<circle cx="{_x(i, n):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>{_e(name)} {_e(labels[i])}: {v:.4g}{unit}</title></circle>'
            for i, v in present
        ]
    parts.append(
        f'<text x="4" y="{_PAD}" class=axis>{high:.3g}{unit}</text>'
        f'<text x="4" y="{_H - _PAD}" class=axis>{low:.3g}{unit}</text>'
    )
    parts += _window_ticks(labels)
    legend = " ".join(
        f'<span style="color:{c}">■ {_e(k)}</span>' for k, c in zip(series, colours, strict=False)
    )
    return "".join(parts) + "</svg>" + f"<div class=legend>{legend}</div>"


def _window_ticks(labels: list[str]) -> list[str]:
    n = len(labels)
    width = max((len(label) for label in labels), default=1) * 6 + 12  # px a label needs
    step = max(-(-n * width // (_W - 2 * _PAD)), 1)  # show every step-th label, so none overlap
    return [
        f'<text x="{_x(i, n):.1f}" y="{_H - 8}" class=axis text-anchor="middle">{_e(label)}</text>'
        for i, label in enumerate(labels)
        if i % step == 0
    ]


def _heatmap(reports: list[Any]) -> str:
    columns = sorted({c for r in reports for c in r.data_drift["scores"]})
    if not columns:
        return "<p class=muted>no features</p>"
    cell_w = (_W - 140) / max(len(reports), 1)
    height = 20 * len(columns) + 30
    parts = [f'<svg viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" role="img">']
    for row, column in enumerate(columns):
        parts.append(f'<text x="4" y="{row * 20 + 14}" class=axis>{_e(column)}</text>')
        for i, report in enumerate(reports):
            score = report.data_drift["scores"].get(column)
            drifted = column in report.data_drift["drifted_columns"]
            shade = 0.0 if score is None else min(float(score) / 0.3, 1.0)
            fill = (
                f"rgba(222,45,38,{0.15 + 0.85 * shade:.2f})"
                if drifted
                else f"rgba(49,130,189,{0.1 + 0.5 * shade:.2f})"
            )
            parts.append(
                f'<rect x="{140 + i * cell_w:.1f}" y="{row * 20}" width="{max(cell_w - 1, 1):.1f}" height="18" fill="{fill}">'
                f"<title>{_e(column)} {_e(report.window)}: {score if score is None else f'{score:.3f}'}"
                f"{' (drifted)' if drifted else ''}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


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
    return _lines(series, [r.window for r in reports], band=band)


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


def _versions(report: Any) -> str:
    """Which versions answered a window, by share of its rows: v4 80%, v6 20%."""
    found = report.extra.get("health", {}).get("versions", {})
    total = sum(v.get("rows", 0) for v in found.values())
    if not total:
        return ", ".join(f"v{v}" for v in report.versions) or "-"
    shares = sorted(found.items(), key=lambda kv: -kv[1].get("rows", 0))
    return ", ".join(f"v{k} {v.get('rows', 0) / total:.0%}" for k, v in shares if v.get("rows"))


def render(deployment: str, reports: list[Any], alerts: list[Any]) -> str:
    labels = [r.window for r in reports]
    latency: dict[str, list[float | None]] = {}
    for r in reports:
        for version in r.extra.get("health", {}).get("versions", {}):
            for q in ("p50", "p99"):
                latency.setdefault(f"v{version} {q}", [None] * len(reports))
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
        f"<td>{_e(a.window)}</td><td>{'' if a.value is None else f'{a.value:.4g}'}</td></tr>"
        for a in alerts
    ]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Monitoring: {_e(deployment)}</title>
<style>body{{font:14px system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}}
h2{{margin-top:1.6em;font-size:16px}} .axis{{font-size:10px;fill:#666}} .muted{{color:#888}}
table{{border-collapse:collapse;width:100%;font-size:12px}} td,th{{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left}}
.legend{{font-size:12px;margin:4px 0 0 36px}}</style></head><body>
<h1>Monitoring: {_e(deployment)}</h1>
<p class=muted>{len(reports)} window(s), {sum(r.rows for r in reports):,} predictions.</p>
<h2>Data drift per feature</h2><p class=muted>red: drifted; darker: larger distance. Hover a cell for its score.</p>{_heatmap(reports)}
<h2>Performance</h2>{_performance(reports)}
<h2>Rows and label coverage</h2>{_lines({"rows": [float(r.rows) for r in reports]}, labels)}
{_lines({"label coverage": [r.label_coverage for r in reports]}, labels)}
<h2>Latency</h2>{_lines(latency, labels, unit=" ms")}
<h2>Errors</h2><p class=muted>requests refused or failed, of all requests; rows the servers' log could not keep up with</p>
{_lines(errors, labels)}
{_lines(dropped, labels)}
{"<h2>Fairness</h2>" + _lines(fairness, labels) if fairness else ""}
<h2>Windows</h2><p class=muted>versions: the share of the window's rows each model version answered (a canary's share beside the stable version's)</p><table><tr><th>window</th><th>versions</th><th>rows</th><th>labels</th><th>drifted columns</th><th>prediction drift</th><th>target drift</th><th>quality</th></tr>{"".join(rows)}</table>
<h2>Alerts</h2>{"<table><tr><th>id</th><th>rule</th><th>severity</th><th>status</th><th>window</th><th>value</th></tr>" + "".join(alert_rows) + "</table>" if alert_rows else "<p class=muted>none</p>"}
</body></html>"""
