// Deployments: where traffic goes now (stable, candidate, split, strategy), the canary's
// evidence step by step where a loop runs it, the history, and promote or roll back.
import { q } from "../api.js";
import { num, when } from "../format.js";
import { AuditTimeline, KeyValues, Pill, html, pending, useGet } from "../ui.js";
import { Action } from "./actions.js";

export function DeploymentsPage() {
  const [deployments, error] = useGet("/deployments");
  const waiting = pending(deployments, error, "deployments");
  if (waiting) return waiting;
  return html`<h1>Deployments</h1>
    ${deployments.length ? null : html`<p class="notice">Nothing deployed yet: <code>shipway deploy create NAME --model MODEL</code></p>`}
    <div class="cards">${deployments.map((d) => html`<div class="card">
      <h3><a href=${`#/deployments/${q(d.name)}`}>${d.name}</a></h3>
      <p>${d.model} v${d.stable}${d.candidate ? html` · <${Pill} value=${d.strategy} /> v${d.candidate} at ${num(d.weight)}%` : null}</p>
      <p><a href=${`#/monitoring/${q(d.name)}`}>monitoring</a></p>
    </div>`)}</div>`;
}

export function Evidence({ evidence }) {
  if (!evidence) return null;
  const steps = Array.isArray(evidence) ? evidence : evidence.steps || [evidence];
  const rows = steps.filter((s) => s && typeof s === "object");
  if (!rows.length) return null;
  const keys = [...new Set(rows.flatMap((s) => Object.keys(s)))].filter((k) => typeof rows[0][k] !== "object" || rows[0][k] === null);
  return html`<div class="scroll"><table data-testid="evidence"><thead><tr>${keys.map((k) => html`<th>${k.replace(/_/g, " ")}</th>`)}</tr></thead>
    <tbody>${rows.map((s) => html`<tr>${keys.map((k) => html`<td class="num">${typeof s[k] === "number" ? num(s[k]) : String(s[k] ?? "")}</td>`)}</tr>`)}</tbody></table></div>`;
}

export function DeploymentPage({ name, me }) {
  const [deployment, error, reloadDeployment] = useGet(`/deployments/${q(name)}`);
  const [history, historyError, reloadHistory] = useGet(`/deployments/${q(name)}/history`);
  const [loops] = useGet("/loops");
  const reload = () => { reloadDeployment(); reloadHistory(); };
  const waiting = pending(deployment, error || historyError, name);
  if (waiting) return waiting;
  const loop = (loops || []).find((l) => l.deployment === name);
  const d = deployment;
  const base = `/deployments/${q(name)}`;
  return html`<h1>Deployment ${name}</h1>
    <${KeyValues} items=${[
      ["model", html`<a href=${`#/models/${q(d.model)}`}>${d.model}</a>`],
      ["stable", `v${d.stable}`],
      ["candidate", d.candidate ? `v${d.candidate}` : "none"],
      ["strategy", d.candidate ? d.strategy : null],
      ["candidate's share", d.candidate ? `${num(d.weight)}%` : null],
      ["sticky key", d.sticky_key],
      ["follows", d.follow],
      ["updated", `${when(d.updated_at)} by ${d.updated_by}`],
    ]} />
    <div class="toolbar">
      ${d.candidate ? html`<${Action} me=${me} role="approver" label=${`Promote v${d.candidate}`} path=${`${base}/promote`} onDone=${reload} />` : null}
      <${Action} me=${me} role="approver" label="Roll back" danger path=${`${base}/rollback`} onDone=${reload} />
      <a href=${`#/monitoring/${q(name)}`}>Monitoring</a>
    </div>
    ${loop ? html`<h2>Loop</h2><p><${Pill} value=${loop.state} /> ${loop.shown}. ${loop.message}</p><${Evidence} evidence=${loop.evidence} />` : null}
    <h2>History</h2>
    <${AuditTimeline} events=${history || []} describe=${(e) => routing(e.to_value)} />`;
}

// A routing as the history records it (JSON), in words.
export function routing(value) {
  let r;
  try { r = JSON.parse(value); } catch { return value || ""; }
  if (!r || typeof r !== "object") return String(value);
  return `v${r.stable}${r.candidate ? `, ${r.strategy} v${r.candidate} at ${num(r.weight)}%` : ""}`;
}
