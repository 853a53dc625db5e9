// Datasets: each logged dataset's versions, a version's schema and profile per column, and
// what changed between two versions (columns, types, rows, means, missing shares).
import { useEffect, useState } from "preact/hooks";
import { get, q } from "../api.js";
import { bytes, num, pct, when } from "../format.js";
import { ErrorBox, KeyValues, Loading, html, pending, useGet } from "../ui.js";

export function DatasetsPage() {
  const [datasets, error] = useGet("/datasets");
  const waiting = pending(datasets, error, "datasets");
  if (waiting) return waiting;
  return html`<h1>Datasets</h1>
    ${datasets.length ? null : html`<p class="notice">No dataset logged yet: <code>shipway data add NAME FILE</code></p>`}
    <table><thead><tr><th>Dataset</th><th class="num">Versions</th><th>Updated</th></tr></thead><tbody>${datasets.map(
      (d) => html`<tr><td><a href=${`#/datasets/${q(d.name)}`}>${d.name}</a></td><td class="num">${d.versions}</td><td>${when(d.updated_at)}</td></tr>`,
    )}</tbody></table>`;
}

function stats(column) {
  if (!column) return {};
  const missing = column.count ? column.missing / column.count : 0;
  const std = column.count > 1 ? Math.sqrt(column.m2 / (column.count - 1)) : null;
  return { kind: column.kind, missing, mean: column.kind === "numeric" ? column.mean : null, std: column.kind === "numeric" ? std : null,
    min: column.minimum, max: column.maximum, distinct: column.kind === "numeric" ? null : Object.keys(column.categories || {}).length };
}

function Profile({ version }) {
  const types = Object.fromEntries(((version.schema || {}).columns || []).map((c) => [c.name, c]));
  const columns = Object.entries((version.profile || {}).columns || {});
  const names = columns.length ? columns.map(([n]) => n) : Object.keys(types);
  return html`<div class="scroll"><table data-testid="profile"><thead><tr><th>Column</th><th>Type</th><th class="num">Missing</th><th class="num">Mean</th><th class="num">Std</th><th class="num">Min</th><th class="num">Max</th><th class="num">Distinct</th><th>Expectations</th></tr></thead>
    <tbody>${names.map((name) => {
      const s = stats(((version.profile || {}).columns || {})[name]);
      const t = types[name] || {};
      return html`<tr><td>${name}</td><td>${t.type || s.kind || ""}</td><td class="num">${pct(s.missing)}</td><td class="num">${num(s.mean)}</td><td class="num">${num(s.std)}</td>
        <td class="num">${num(s.min)}</td><td class="num">${num(s.max)}</td><td class="num">${num(s.distinct)}</td>
        <td class="muted">${[t.nullable === false ? "not null" : "", t.min !== undefined ? `≥ ${t.min}` : "", t.max !== undefined ? `≤ ${t.max}` : "", t.allowed ? `${t.allowed.length} categories` : ""].filter(Boolean).join(", ")}</td></tr>`;
    })}</tbody></table></div>`;
}

function Diff({ a, b }) {
  const columns = (v) => Object.fromEntries(((v.schema || {}).columns || []).map((c) => [c.name, c]));
  const [ca, cb] = [columns(a), columns(b)];
  const names = [...new Set([...Object.keys(ca), ...Object.keys(cb)])];
  const rows = names.map((name) => {
    const [sa, sb] = [stats(((a.profile || {}).columns || {})[name]), stats(((b.profile || {}).columns || {})[name])];
    const change = !ca[name] ? "added" : !cb[name] ? "removed" : ca[name].type !== cb[name].type ? `type ${ca[name].type} → ${cb[name].type}` : "";
    return { name, change, sa, sb };
  });
  return html`<p>rows ${num(a.rows)} → ${num(b.rows)}; ${rows.filter((r) => r.change).length} column change(s)</p>
    <div class="scroll"><table data-testid="diff"><thead><tr><th>Column</th><th>Change</th><th class="num">Mean v${a.version}</th><th class="num">Mean v${b.version}</th><th class="num">Missing v${a.version}</th><th class="num">Missing v${b.version}</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr class=${r.change || r.sa.mean !== r.sb.mean || r.sa.missing !== r.sb.missing ? "diff" : ""}>
      <td>${r.name}</td><td>${r.change}</td><td class="num">${num(r.sa.mean)}</td><td class="num">${num(r.sb.mean)}</td><td class="num">${pct(r.sa.missing)}</td><td class="num">${pct(r.sb.missing)}</td></tr>`)}</tbody></table></div>`;
}

export function DatasetPage({ name, version }) {
  const [versions, setVersions] = useState(null);
  const [chosen, setChosen] = useState(null);
  const [other, setOther] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/datasets/${q(name)}/versions`).then((found) => {
      setVersions(found);
      const pick = version ? Number(version) : Math.max(...found.map((v) => v.version));
      return get(`/datasets/${q(name)}/versions/${pick}`).then(setChosen);
    }).catch(setError);
  }, [name, version]);
  const compare = (event) => {
    const v = event.target.value;
    if (!v) return setOther(null);
    get(`/datasets/${q(name)}/versions/${v}`).then(setOther, setError);
  };
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!versions || !chosen) return html`<${Loading} what=${name} />`;
  return html`<h1>Dataset ${name} <select aria-label="version" value=${chosen.version} onChange=${(e) => { location.hash = `#/datasets/${q(name)}/${e.target.value}`; }}>
      ${versions.map((v) => html`<option value=${v.version}>v${v.version}</option>`)}</select></h1>
    <${KeyValues} items=${[
      ["digest", html`<span class="mono">${chosen.digest}</span>`], ["rows", num(chosen.rows)], ["format", chosen.format],
      ["size", bytes(chosen.size)], ["files", chosen.files], ["created", `${when(chosen.created_at)} by ${chosen.created_by}`],
      ["source", chosen.source], ["description", chosen.description],
    ]} />
    <h2>Columns</h2><${Profile} version=${chosen} />
    <h2>Compare with <select aria-label="compare with" onChange=${compare}><option value="">another version…</option>
      ${versions.filter((v) => v.version !== chosen.version).map((v) => html`<option value=${v.version}>v${v.version}</option>`)}</select></h2>
    ${other ? html`<${Diff} a=${other.version < chosen.version ? other : chosen} b=${other.version < chosen.version ? chosen : other} />` : null}`;
}
