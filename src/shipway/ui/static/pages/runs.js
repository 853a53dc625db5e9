// Runs: the experiment's runs, sorted and paged by the server, with the columns the viewer
// picks and a filter in the search language whose errors point at the offending token.
import { useEffect, useState } from "preact/hooks";
import { get, post, q } from "../api.js";
import { num, short, when } from "../format.js";
import { ErrorBox, Loading, Pill, html } from "../ui.js";

const PAGE = 50;

function FilterError({ error, text }) {
  if (!error) return null;
  const position = error.details && error.details.position;
  return html`<div class="error" role="alert" data-testid="filter-error">${error.message.split("\n")[0]}${
    Number.isInteger(position)
      ? html`<pre class="mono">${`${text}\n${" ".repeat(position)}^`}</pre>`
      : null
  }</div>`;
}

function ColumnPicker({ available, chosen, onChange }) {
  const toggle = (column) =>
    onChange(chosen.includes(column) ? chosen.filter((c) => c !== column) : [...chosen, column]);
  return html`<details class="columns"><summary>Columns (${chosen.length})</summary>
    <div class="groups">${["metrics", "params", "tags"].map(
      (kind) => html`<fieldset><legend>${kind}</legend>${(available[kind] || []).map((key) => {
        const column = `${kind}.${key}`;
        return html`<label><input type="checkbox" checked=${chosen.includes(column)} onChange=${() => toggle(column)} /> ${key}</label>`;
      })}</fieldset>`,
    )}</div></details>`;
}

function value(run, column) {
  const [kind, ...rest] = column.split(".");
  const key = rest.join(".");
  return (run[kind] || {})[key];
}

export function RunsPage({ query }) {
  const [experiments, setExperiments] = useState(null);
  const [error, setError] = useState(null);
  const experiment = query.get("experiment");
  useEffect(() => {
    get("/experiments").then(setExperiments, setError);
  }, []);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!experiments) return html`<${Loading} what="experiments" />`;
  if (!experiments.length) return html`<h1>Runs</h1><p class="notice">No experiment yet. Log a run: <code>with sw.start_run(): sw.log_metric("auc", 0.9)</code></p>`;
  const named = experiments.find((e) => e.name === experiment || e.experiment_id === experiment);
  const chosen = named ? named.name : [...experiments].sort((a, b) => b.created_at - a.created_at)[0].name;
  return html`<${RunsTable} key=${chosen} experiments=${experiments} experiment=${chosen} />`;
}

function RunsTable({ experiments, experiment }) {
  const [available, setAvailable] = useState({ metrics: [], params: [], tags: [] });
  const [columns, setColumns] = useState(null);
  const [text, setText] = useState("");
  const [filter, setFilter] = useState("");
  const [order, setOrder] = useState("attributes.start_time DESC");
  const [offset, setOffset] = useState(0);
  const [runs, setRuns] = useState(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState(null);
  const [filterError, setFilterError] = useState(null);
  const [picked, setPicked] = useState([]);

  useEffect(() => {
    get(`/experiments/${q(experiment)}/columns`).then((found) => {
      setAvailable(found);
      setColumns([
        ...found.metrics.slice(0, 4).map((k) => `metrics.${k}`),
        ...found.params.slice(0, 3).map((k) => `params.${k}`),
      ]);
    }, setError);
  }, [experiment]);

  useEffect(() => {
    if (columns === null) return;
    let stale = false;
    const body = {
      experiments: [experiment], filter: filter || null, order_by: [order],
      max_results: PAGE + 1, offset, columns,
    };
    post("/runs/search", body).then(
      (found) => {
        if (stale) return;
        setFilterError(null);
        setRuns(found.slice(0, PAGE));
        setMore(found.length > PAGE);
      },
      (e) => {
        if (stale) return;
        if (e.details && Number.isInteger(e.details.position)) setFilterError(e);
        else setError(e);
      },
    );
    return () => { stale = true; };
  }, [experiment, filter, order, offset, columns]);

  const sortBy = (column) => {
    const [current, direction] = order.split(" ");
    setOrder(`${column} ${current === column && direction === "DESC" ? "ASC" : "DESC"}`);
    setOffset(0);
  };
  const sortMark = (column) => {
    const [current, direction] = order.split(" ");
    return current === column ? (direction === "DESC" ? " ▼" : " ▲") : "";
  };
  const ariaSort = (column) => {
    const [current, direction] = order.split(" ");
    return current === column ? (direction === "DESC" ? "descending" : "ascending") : undefined;
  };
  const Header = ({ column, label, numeric }) => html`<th class=${numeric ? "num" : ""} aria-sort=${ariaSort(column)}>
    <button class="sort" aria-label=${`sort by ${column}`} onClick=${() => sortBy(column)}>${label}${sortMark(column)}</button></th>`;
  const choose = (event) => { location.hash = `#/runs?experiment=${q(event.target.value)}`; };
  const togglePick = (id) => setPicked(picked.includes(id) ? picked.filter((p) => p !== id) : [...picked, id]);
  const apply = (event) => { event.preventDefault(); setOffset(0); setFilter(text.trim()); };

  return html`<h1>Runs</h1>
    <div class="toolbar">
      <label>Experiment <select value=${experiment} onChange=${choose}>${experiments.map(
        (e) => html`<option value=${e.name}>${e.name} (${e.runs})</option>`,
      )}</select></label>
      ${columns ? html`<${ColumnPicker} available=${available} chosen=${columns} onChange=${setColumns} />` : null}
      <a class=${picked.length < 2 ? "muted" : ""} aria-disabled=${picked.length < 2}
        href=${picked.length < 2 ? undefined : `#/compare?runs=${picked.join(",")}`}>Compare ${picked.length} run(s)</a>
    </div>
    <form class="toolbar" onSubmit=${apply} role="search">
      <label class="sr-only" for="filter">Filter</label>
      <input id="filter" class="filter" type="text" placeholder="metrics.roc_auc > 0.7 and params.max_iter = '100'"
        value=${text} onInput=${(e) => setText(e.target.value)} />
      <button type="submit" class="primary">Filter</button>
      ${filter ? html`<button type="button" onClick=${() => { setText(""); setFilter(""); setOffset(0); }}>Clear</button>` : null}
    </form>
    <${FilterError} error=${filterError} text=${filter} />
    <${ErrorBox} error=${error} />
    ${runs === null ? html`<${Loading} what="runs" />` : html`
      <div class="scroll"><table data-testid="runs-table">
        <thead><tr>
          <th><span class="sr-only">pick</span></th>
          <${Header} column="attributes.run_name" label="Run" />
          <${Header} column="attributes.status" label="Status" />
          <${Header} column="attributes.start_time" label="Started" />
          <${Header} column="attributes.user" label="User" />
          ${columns.map((c) => html`<${Header} column=${c} label=${html`<span class="kind">${c.split(".")[0]}</span>${c.split(".").slice(1).join(".")}`} numeric=${c.startsWith("metrics.")} />`)}
        </tr></thead>
        <tbody>${runs.map((run) => html`<tr>
          <td><input type="checkbox" aria-label=${`pick ${run.name}`} checked=${picked.includes(run.run_id)} onChange=${() => togglePick(run.run_id)} /></td>
          <td><a href=${`#/runs/${run.run_id}`}>${run.name || short(run.run_id)}</a> <span class="muted mono">${short(run.run_id)}</span></td>
          <td><${Pill} value=${run.status} /></td>
          <td>${when(run.start_time)}</td>
          <td>${run.user}</td>
          ${columns.map((c) => html`<td class=${c.startsWith("metrics.") ? "num" : ""} title=${value(run, c) ?? ""}>${num(value(run, c))}</td>`)}
        </tr>`)}</tbody>
      </table></div>
      ${runs.length === 0 ? html`<p class="muted">No run matches.</p>` : null}
      <div class="pager">
        <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
        <span class="muted">runs ${runs.length ? offset + 1 : 0}–${offset + runs.length}</span>
        <button disabled=${!more} onClick=${() => setOffset(offset + PAGE)}>Next</button>
      </div>`}`;
}
