// Compare runs: each shared metric's histories overlaid, the params against a metric in
// parallel coordinates, and the params side by side with the rows that differ marked.
import { useEffect, useState } from "preact/hooks";
import { get, q } from "../api.js";
import { num, short } from "../format.js";
import { Chart, parallel, stepLines } from "../charts.js";
import { ErrorBox, Loading, html } from "../ui.js";
import { history } from "./run.js";

export function ComparePage({ query }) {
  const ids = (query.get("runs") || "").split(",").filter(Boolean);
  const [runs, setRuns] = useState(null);
  const [histories, setHistories] = useState({});
  const [metric, setMetric] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    Promise.all(ids.map((id) => get(`/runs/${q(id)}`))).then((found) => {
      setRuns(found);
      const shared = Object.keys(found[0] ? found[0].metrics : {}).filter((k) => found.every((r) => k in r.metrics)).sort();
      setMetric(shared[0] || null);
    }, setError);
  }, [query.get("runs")]);
  useEffect(() => {
    if (!runs || !metric || histories[metric]) return;
    Promise.all(runs.map((r) => history(r.run_id, metric))).then(
      (all) => setHistories((h) => ({ ...h, [metric]: all })), setError);
  }, [runs, metric]);
  if (ids.length < 2) return html`<h1>Compare runs</h1><p class="notice">Pick two runs or more on the <a href="#/runs">runs page</a>.</p>`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!runs) return html`<${Loading} what="runs" />`;
  const label = (r) => `${r.name} (${short(r.run_id)})`;
  const shared = Object.keys(runs[0].metrics).filter((k) => runs.every((r) => k in r.metrics)).sort();
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const differs = (key) => new Set(runs.map((r) => r.params[key])).size > 1;
  const varied = params.filter(differs);
  const dimensions = [
    ...varied.map((key) => {
      const values = runs.map((r) => r.params[key]);
      const numeric = values.every((v) => v !== undefined && v !== "" && !Number.isNaN(Number(v)));
      return { name: key, numeric, categories: [...new Set(values.map(String))] };
    }),
    ...(metric ? [{ name: metric, numeric: true }] : []),
  ];
  const rows = runs.map((r) => ({
    name: label(r),
    value: [...varied.map((key, i) => (dimensions[i].numeric ? Number(r.params[key]) : String(r.params[key]))), ...(metric ? [r.metrics[metric]] : [])],
  }));
  return html`<h1>Compare ${runs.length} runs</h1>
    ${shared.length ? html`<div class="toolbar"><label>Metric <select value=${metric || ""} onChange=${(e) => setMetric(e.target.value)}>${shared.map(
      (k) => html`<option value=${k}>${k}</option>`)}</select></label></div>` : html`<p class="notice">These runs share no metric; their params are compared below.</p>`}
    ${metric && histories[metric] ? html`<${Chart} label=${`${metric} of each run over steps`} height=${320}
      option=${stepLines(runs.map((r, i) => ({ name: label(r), points: histories[metric][i] })), { yName: metric })} />` : null}
    ${dimensions.length >= 2 ? html`<h2>Parameters${metric ? ` against ${metric}` : ""}</h2>
      <${Chart} label="parallel coordinates of the params that differ, and the metric" height=${300} option=${parallel(dimensions, rows)} />` : null}
    ${shared.length ? html`<h2>Metrics</h2>` : null}
    <div class="scroll" hidden=${!shared.length}><table><thead><tr><th>Metric</th>${runs.map((r) => html`<th class="num"><a href=${`#/runs/${r.run_id}`}>${label(r)}</a></th>`)}</tr></thead>
    <tbody>${shared.map((k) => html`<tr><td>${k}</td>${runs.map((r) => html`<td class="num">${num(r.metrics[k])}</td>`)}</tr>`)}</tbody></table></div>
    <h2>Parameters <span class="muted">(${varied.length} of ${params.length} differ, marked)</span></h2>
    <div class="scroll"><table data-testid="params-diff"><thead><tr><th>Parameter</th>${runs.map((r) => html`<th>${label(r)}</th>`)}</tr></thead>
    <tbody>${params.map((k) => html`<tr class=${differs(k) ? "diff" : ""}><td>${k}${differs(k) ? html` <span class="sr-only">(differs)</span>` : null}</td>${runs.map(
      (r) => html`<td class="mono">${r.params[k] === undefined ? html`<span class="muted">—</span>` : r.params[k]}</td>`)}</tr>`)}</tbody></table></div>`;
}
