// Monitoring of one deployment: drift per feature over time as a heat map, a feature's
// reference and live distributions, performance realised and estimated with label coverage,
// fairness by group, latency and errors; alerts on the time axis, acknowledged or resolved here.
import { useEffect, useState } from "preact/hooks";
import { get, q } from "../api.js";
import { num, pct, when } from "../format.js";
import { Chart, bars, heatmap, windowLines } from "../charts.js";
import { ErrorBox, Loading, Pill, html, pending, useGet } from "../ui.js";
import { Action } from "./actions.js";

const PERFORMANCE = ["accuracy", "roc_auc", "f1", "mae", "rmse", "r2"];

function windowOf(windows, seconds) {
  const found = windows.find((w) => w.extra && w.extra.span && seconds >= w.extra.span[0] && seconds <= w.extra.span[1] + 1);
  return found ? found.window : null;
}

function Distribution({ deployment, version, reference, feature }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setData(null);
    Promise.all([
      reference ? get(`/datasets/${q(reference.dataset)}/versions/${reference.version}`) : Promise.resolve(null),
      get(`/deployments/${q(deployment)}/profile?version=${version}`),
    ]).then(([dataset, live]) => setData({ reference: dataset && dataset.profile, live }), setError);
  }, [deployment, version, reference && reference.dataset, reference && reference.version]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="distributions" />`;
  const columns = [data.reference, data.live].map((p) => p && p.columns && p.columns[feature]);
  const [ref, cur] = columns;
  const basis = cur || ref;
  if (!basis) return html`<p class="muted">No profile of ${feature} yet.</p>`;
  let categories;
  let shares;
  if (basis.kind === "numeric" && basis.edges.length) {
    // inner edges: the first bin is below the first edge, the last at or above the last
    const e = basis.edges;
    categories = basis.bins.map((_, i) => (i === 0 ? `< ${num(e[0], 3)}` : i === e.length ? `≥ ${num(e[i - 1], 3)}` : `${num(e[i - 1], 3)}–${num(e[i], 3)}`));
    shares = (c) => (c && c.bins.length === basis.bins.length ? c.bins.map((b) => b / Math.max(1, c.count)) : []);
  } else {
    categories = [...new Set([ref, cur].flatMap((c) => Object.keys((c && c.categories) || {})))].slice(0, 30);
    shares = (c) => categories.map((k) => ((c && c.categories[k]) || 0) / Math.max(1, c ? c.count : 1));
  }
  const series = [];
  if (ref) series.push({ name: "reference", data: shares(ref) });
  if (cur) series.push({ name: `live, v${version}`, data: shares(cur) });
  return html`<${Chart} label=${`distribution of ${feature}: reference and live`} option=${bars(categories, series)} />`;
}

// Per group of each sensitive column, in the last window: rates side by side, the gaps below.
function Fairness({ fairness }) {
  return Object.entries(fairness).map(([column, f]) => html`<h3>${column}</h3>
    <div class="scroll"><table data-testid="fairness"><thead><tr><th>Group</th><th class="num">Rows</th><th class="num">Selection rate</th>
      <th class="num">True positive rate</th><th class="num">False positive rate</th><th class="num">Accuracy</th></tr></thead>
    <tbody>${Object.entries(f.groups).map(([group, g]) => html`<tr><td>${group}</td><td class="num">${num(g.rows)}</td>
      <td class="num">${pct(g.selection_rate)}</td><td class="num">${pct(g.tpr)}</td><td class="num">${pct(g.fpr)}</td><td class="num">${pct(g.accuracy)}</td></tr>`)}</tbody></table></div>
    <p>Demographic-parity difference <b>${num(f.demographic_parity_difference)}</b>; equalised-odds difference <b>${num(f.equalised_odds_difference)}</b>.</p>`);
}

function Alerts({ alerts, me, onChange }) {
  if (!alerts.length) return html`<p class="muted">No alert.</p>`;
  return html`<div class="scroll"><table data-testid="alerts"><thead><tr><th>Opened</th><th>Rule</th><th>Severity</th><th>Status</th><th>Value</th><th>Evidence</th><th></th></tr></thead>
    <tbody>${alerts.map((a) => html`<tr>
      <td>${when(a.opened_at)}</td><td>${a.rule}</td><td><${Pill} value=${a.severity} /></td><td><${Pill} value=${a.status} /></td>
      <td class="num">${num(a.value)}${a.threshold !== null && a.threshold !== undefined ? html` <span class="muted">(limit ${num(a.threshold)})</span>` : null}</td>
      <td>${(a.evidence && a.evidence.message) || a.window || ""}</td>
      <td>${a.status === "open" ? html`<${Action} me=${me} role="editor" label="Acknowledge" ask="" path=${`/alerts/${a.alert_id}/ack`} onDone=${onChange} />` : null}
        ${a.status !== "resolved" ? html`<${Action} me=${me} role="editor" label="Resolve" ask="" path=${`/alerts/${a.alert_id}/resolve`} onDone=${onChange} />` : null}</td>
    </tr>`)}</tbody></table></div>`;
}

function DeploymentMonitoring({ deployment, me, query }) {
  const window = query.get("window") || "day";
  const sensitive = query.get("sensitive");
  const [windows, setWindows] = useState(null);
  const [alerts, setAlerts] = useState([]);
  const [routing, setRouting] = useState(null);
  const [reference, setReference] = useState(null);
  const [feature, setFeature] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    setWindows(null);
    const groups = sensitive ? `&sensitive=${q(sensitive)}` : "";
    get(`/monitoring/${q(deployment)}/windows?window=${q(window)}${groups}`).then(setWindows, setError);
  }, [deployment, window, sensitive]);
  useEffect(() => { get(`/alerts?deployment=${q(deployment)}&all=true`).then(setAlerts, setError); }, [deployment, tick]);
  useEffect(() => {
    get(`/deployments/${q(deployment)}`).then((d) => {
      setRouting(d);
      return get(`/models/${q(d.model)}/versions/${d.stable}`).then((v) => setReference((v.lineage || {}).reference || null));
    }).catch(setError);
  }, [deployment]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!windows) return html`<${Loading} what="monitoring windows" />`;
  if (!windows.length) return html`<p class="notice">No traffic logged for ${deployment} yet.</p>`;
  const labels = windows.map((w) => w.window);
  const features = [...new Set(windows.flatMap((w) => Object.keys((w.data_drift && (w.data_drift.strengths || w.data_drift.scores)) || {})))];
  const cells = [];
  windows.forEach((w, x) => features.forEach((f, y) => {
    const d = w.data_drift || {};
    const value = (d.strengths || {})[f];
    cells.push([x, y, value === undefined ? null : value]);
  }));
  const last = windows[windows.length - 1];
  const drifted = (last.data_drift && last.data_drift.drifted_columns) || [];
  const chosen = feature || drifted[0] || features[0];
  const metric = PERFORMANCE.find((m) => windows.some((w) => (w.realised && w.realised[m] !== undefined) || (w.estimated && w.estimated[m] !== undefined)));
  const marks = alerts.map((a) => ({ name: a.rule, window: windowOf(windows, a.opened_at) })).filter((m) => m.window);
  const versions = [...new Set(windows.flatMap((w) => Object.keys(((w.extra || {}).health || {}).versions || {})))];
  const latency = versions.flatMap((v) => [
    { name: `v${v} p50 ms`, data: windows.map((w) => ((((w.extra || {}).health || {}).versions || {})[v] || {}).latency_p50_ms ?? null) },
    { name: `v${v} p99 ms`, data: windows.map((w) => ((((w.extra || {}).health || {}).versions || {})[v] || {}).latency_p99_ms ?? null) },
  ]);
  const fairness = last.fairness || (last.extra || {}).fairness;
  return html`
    <div class="toolbar">
      <label>Window <select value=${window} onChange=${(e) => { location.hash = `#/monitoring/${q(deployment)}?window=${q(e.target.value)}`; }}>
        ${[...new Set(["hour", "day", "500", "1000", "5000", window])].map((w) => html`<option value=${w}>${/^\d+$/.test(w) ? `${Number(w).toLocaleString()} rows` : w}</option>`)}</select></label>
      <span class="muted">${windows.length} window(s); ${last.rows.toLocaleString()} rows in the last; labels on ${pct(last.label_coverage)}</span>
    </div>
    <h2>Drift per feature <span class="muted">(1 = the test's threshold)</span></h2>
    ${drifted.length ? html`<p data-testid="drifted">Drifted in the last window: <b>${drifted.join(", ")}</b></p>` : html`<p class="good">No feature drifted in the last window.</p>`}
    ${features.length ? html`<${Chart} label="drift strength per feature and window" height=${Math.max(220, 24 * features.length + 110)} option=${heatmap(labels, features, cells)} />` : null}
    <div class="grid2">
      <section><h2>Distribution of <select aria-label="feature" value=${chosen} onChange=${(e) => setFeature(e.target.value)}>${features.map((f) => html`<option value=${f}>${f}</option>`)}</select></h2>
        ${routing ? html`<${Distribution} deployment=${deployment} version=${routing.stable} reference=${reference} feature=${chosen} />` : null}</section>
      <section><h2>Performance${metric ? `: ${metric}` : ""}</h2>
        ${metric ? html`<${Chart} label=${`${metric} realised and estimated per window`} option=${windowLines(labels, [
          { name: `${metric} realised`, data: windows.map((w) => (w.realised ? w.realised[metric] ?? null : null)) },
          { name: `${metric} estimated`, data: windows.map((w) => (w.estimated ? w.estimated[metric] ?? null : null)) },
          { name: "label coverage", data: windows.map((w) => w.label_coverage ?? null) },
        ], marks)} />` : html`<p class="muted">No performance yet: labels or an estimate are needed.</p>`}</section>
      <section><h2>Latency</h2>${latency.length ? html`<${Chart} label="latency per version" option=${windowLines(labels, latency)} />` : html`<p class="muted">No health counts.</p>`}</section>
      <section><h2>Errors</h2><${Chart} label="error rate per window" option=${windowLines(labels, [
        { name: "error rate", data: windows.map((w) => ((w.extra || {}).health || {}).error_rate ?? null) },
      ], marks)} /></section>
    </div>
    <h2>Fairness</h2>
    <div class="toolbar"><label>By the groups of <select aria-label="sensitive column" value=${sensitive || ""}
      onChange=${(e) => { location.hash = `#/monitoring/${q(deployment)}?window=${q(window)}${e.target.value ? `&sensitive=${q(e.target.value)}` : ""}`; }}>
      <option value="">(choose a column)</option>${features.map((f) => html`<option value=${f}>${f}</option>`)}</select></label></div>
    ${fairness ? html`<${Fairness} fairness=${fairness} />` : html`<p class="muted">Choose a column whose groups to compare (or set [monitoring] sensitive).</p>`}
    <h2>Alerts</h2><${Alerts} alerts=${alerts} me=${me} onChange=${() => setTick(tick + 1)} />`;
}

export function MonitoringPage({ deployment, me, query }) {
  const [deployments, error] = useGet("/deployments");
  const waiting = pending(deployments, error, "deployments");
  if (waiting) return waiting;
  if (!deployments.length) return html`<h1>Monitoring</h1><p class="notice">Nothing deployed yet.</p>`;
  const chosen = deployment || deployments[0].name;
  return html`<h1>Monitoring <select aria-label="deployment" value=${chosen} onChange=${(e) => { location.hash = `#/monitoring/${q(e.target.value)}`; }}>
      ${deployments.map((d) => html`<option value=${d.name}>${d.name}</option>`)}</select></h1>
    <${DeploymentMonitoring} key=${chosen} deployment=${chosen} me=${me} query=${query} />`;
}
