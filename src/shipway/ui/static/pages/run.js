// A run: what it was (params, environment, inputs), what it measured (metric charts, each
// history bucketed by the server), what it made (artifacts, previewed), and where it sits.
import { useEffect, useState } from "preact/hooks";
import { artifact, get, post, q } from "../api.js";
import { bytes, num, short, when } from "../format.js";
import { Chart, stepGraph, stepLines } from "../charts.js";
import { ErrorBox, KeyValues, Loading, Pill, html } from "../ui.js";

const POINTS = 320;
const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;
const TEXT = /\.(txt|log|json|ya?ml|md|csv|toml|py|cfg|ini|mlmodel|MLmodel)$|(^|\/)MLmodel$/i;
const PAGE = /\.html?$/i;

export async function history(runId, key) {
  return get(`/runs/${q(runId)}/metrics/${q(key)}/sampled?points=${POINTS}`);
}

function MetricCharts({ run }) {
  const keys = Object.keys(run.metrics).sort();
  const [shown, setShown] = useState(keys.slice(0, 4));
  const [data, setData] = useState({});
  const [error, setError] = useState(null);
  useEffect(() => {
    shown.filter((k) => !(k in data)).forEach((key) =>
      history(run.run_id, key).then((points) => setData((d) => ({ ...d, [key]: points })), setError));
  }, [shown]);
  if (!keys.length) return html`<p class="muted">No metric logged.</p>`;
  const toggle = (key) => setShown(shown.includes(key) ? shown.filter((k) => k !== key) : [...shown, key]);
  return html`<${ErrorBox} error=${error} />
    <table><thead><tr><th>Chart</th><th>Metric</th><th class="num">Latest</th></tr></thead><tbody>${keys.map(
      (key) => html`<tr><td><input type="checkbox" aria-label=${`chart ${key}`} checked=${shown.includes(key)} onChange=${() => toggle(key)} /></td>
        <td>${key}</td><td class="num">${num(run.metrics[key])}</td></tr>`,
    )}</tbody></table>
    <div class="grid2">${shown.filter((k) => data[k]).map((key) => html`<section>
      <h3>${key} <span class="muted">(${data[key].reduce((n, p) => n + p.count, 0).toLocaleString()} steps)</span></h3>
      <${Chart} label=${`${key} over steps`} option=${stepLines([{ name: key, points: data[key] }])} />
    </section>`)}</div>`;
}

function Preview({ runId, path, size }) {
  const [content, setContent] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setContent(null);
    if (size > 5 * 2 ** 20) return setContent({ kind: "big" });
    artifact(runId, path).then(async (blob) => {
      if (IMAGE.test(path)) {
        const type = /\.svg$/i.test(path) ? "image/svg+xml" : `image/${path.split(".").pop().toLowerCase().replace("jpg", "jpeg")}`;
        return setContent({ kind: "image", url: URL.createObjectURL(new Blob([blob], { type })) });
      }
      const text = await blob.text();
      if (PAGE.test(path)) return setContent({ kind: "page", text });
      if (/\.csv$/i.test(path)) return setContent({ kind: "table", rows: text.split("\n").slice(0, 101).map((l) => l.split(",")) });
      if (TEXT.test(path)) return setContent({ kind: "text", text: text.slice(0, 200000) });
      return setContent({ kind: "none" });
    }, setError);
  }, [runId, path]);
  useEffect(() => () => content && content.url && URL.revokeObjectURL(content.url), [content]);
  const download = `/api/v1/runs/${q(runId)}/artifacts/${path.split("/").map(q).join("/")}`;
  const link = html`<a href=${download} download=${path.split("/").pop()}>download</a>`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!content) return html`<${Loading} what=${path} />`;
  switch (content.kind) {
    case "image": return html`<p>${link}</p><img class="preview" src=${content.url} alt=${path} />`;
    // a logged page runs nothing and reaches nothing: no script, an opaque origin
    case "page": return html`<p>${link}</p><iframe class="preview" sandbox="" title=${path} srcdoc=${content.text}></iframe>`;
    case "table": return html`<p>${link} (first 100 rows)</p><div class="scroll"><table>${content.rows.map(
      (cells, i) => html`<tr>${cells.map((c) => (i === 0 ? html`<th>${c}</th>` : html`<td>${c}</td>`))}</tr>`)}</table></div>`;
    case "text": return html`<p>${link}</p><pre class="preview mono">${content.text}</pre>`;
    case "big": return html`<p>Too big to preview: ${link}</p>`;
    default: return html`<p>No preview for this kind of file: ${link}</p>`;
  }
}

function Artifacts({ runId }) {
  const [files, setFiles] = useState(null);
  const [open, setOpen] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { get(`/runs/${q(runId)}/artifacts`).then(setFiles, setError); }, [runId]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!files) return html`<${Loading} what="artifacts" />`;
  if (!files.length) return html`<p class="muted">No artifact.</p>`;
  return html`<div class="grid2"><div class="scroll"><table><thead><tr><th>Path</th><th class="num">Size</th></tr></thead><tbody>${files.map(
    (f) => html`<tr><td><button class="sort" onClick=${() => setOpen(f)}>${open && open.path === f.path ? html`<b>${f.path}</b>` : f.path}</button></td><td class="num">${bytes(f.size)}</td></tr>`,
  )}</tbody></table></div>
  <div>${open ? html`<${Preview} runId=${runId} path=${open.path} size=${open.size} />` : html`<p class="muted">Pick a file to preview it.</p>`}</div></div>`;
}

const STEP_TAGS = ["tags.shipway.step", "tags.shipway.step.inputs", "tags.shipway.step.cached_from"];

// A step run's place in its pipeline: its name, the steps it read from, what happened.
function asStep(child) {
  let inputs = {};
  try { inputs = JSON.parse(child.tags["shipway.step.inputs"] || "{}"); } catch { inputs = {}; }
  const state = child.tags["shipway.step.cached_from"] ? "cached" : child.status === "FAILED" ? "failed" : "ran";
  return { name: child.tags["shipway.step"], upstream: [...new Set(Object.values(inputs).map((i) => i.step))], state, run: child };
}

function Children({ run }) {
  const [children, setChildren] = useState([]);
  useEffect(() => {
    post("/runs/search", {
      experiments: [run.experiment_id], filter: `attributes.parent_run_id = '${run.run_id}'`, max_results: 200, columns: STEP_TAGS,
    }).then(setChildren, () => setChildren([]));
  }, [run.run_id]);
  if (!children.length) return null;
  const steps = children.filter((c) => c.tags["shipway.step"]).map(asStep);
  return html`${steps.length ? html`<h2>Pipeline steps <span class="muted">(${steps.filter((s) => s.state === "cached").length} reused from the cache)</span></h2>
      <${Chart} label="the pipeline's steps as a graph" height=${Math.max(180, 45 * steps.length)} option=${stepGraph(steps)} />` : null}
    <h2>Child runs</h2><ul>${children.map((c) => html`<li><a href=${`#/runs/${c.run_id}`}>${c.name}</a> <${Pill} value=${c.status} />${c.tags["shipway.step.cached_from"] ? html` <span class="muted">cached</span>` : null}</li>`)}</ul>`;
}

export function RunPage({ runId }) {
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { get(`/runs/${q(runId)}`).then(setRun, setError); }, [runId]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!run) return html`<${Loading} what="the run" />`;
  const environment = Object.entries(run.tags).filter(([k]) => k.startsWith("shipway.") || k.startsWith("env."));
  const other = Object.entries(run.tags).filter(([k]) => !(k.startsWith("shipway.") || k.startsWith("env.")));
  const params = Object.entries(run.params).sort();
  return html`<h1>Run ${run.name} <${Pill} value=${run.status} /></h1>
    <${KeyValues} items=${[
      ["run id", html`<span class="mono">${run.run_id}</span>`],
      ["experiment", html`<a href=${`#/runs?experiment=${q(run.experiment_id)}`}>${run.experiment_id}</a>`],
      ["started", when(run.start_time)], ["ended", when(run.end_time)], ["user", run.user],
      ["parent", run.parent_run_id ? html`<a href=${`#/runs/${run.parent_run_id}`}>${short(run.parent_run_id)}</a>` : null],
      ["artifacts at", html`<span class="mono">${run.artifact_uri}</span>`],
    ]} />
    <h2>Metrics</h2><${MetricCharts} run=${run} />
    <h2>Parameters</h2>${params.length ? html`<table><tbody>${params.map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${v}</td></tr>`)}</tbody></table>` : html`<p class="muted">No parameter.</p>`}
    <h2>Input datasets</h2>${run.inputs.length ? html`<table><thead><tr><th>Dataset</th><th>Role</th><th class="num">Rows</th><th>Digest</th></tr></thead><tbody>${run.inputs.map(
      (i) => html`<tr><td><a href=${`#/datasets/${q(i.name)}`}>${i.name}</a></td><td>${i.role}</td><td class="num">${num(i.rows)}</td><td class="mono">${i.digest.slice(0, 24)}…</td></tr>`,
    )}</tbody></table>` : html`<p class="muted">No input dataset recorded.</p>`}
    <h2>Environment</h2>${environment.length ? html`<table><tbody>${environment.map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${v}</td></tr>`)}</tbody></table>` : html`<p class="muted">No environment recorded.</p>`}
    ${other.length ? html`<h2>Tags</h2><table><tbody>${other.map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${v}</td></tr>`)}</tbody></table>` : null}
    <${Children} run=${run} />
    <h2>Artifacts</h2><${Artifacts} runId=${run.run_id} />`;
}
