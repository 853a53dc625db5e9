// Models: each registered model's versions with stage, aliases, metrics, the gate's verdict,
// lineage and the audit history; approve, promote, archive and roll back for those allowed.
import { q } from "../api.js";
import { num, short, when } from "../format.js";
import { AuditTimeline, Pill, html, pending, useGet } from "../ui.js";
import { Action } from "./actions.js";

export function ModelsPage() {
  const [models, error] = useGet("/models");
  const waiting = pending(models, error, "models");
  if (waiting) return waiting;
  return html`<h1>Models</h1>
    ${models.length ? null : html`<p class="notice">No registered model yet: <code>sw.register_model(run_id, "NAME")</code></p>`}
    <div class="cards">${models.map((m) => html`<div class="card">
      <h3><a href=${`#/models/${q(m.model.name)}`}>${m.model.name}</a></h3>
      <p class="muted">${m.versions} version(s)</p>
      <p>${Object.entries(m.stages).map(([stage, version]) => html`<${Pill} value=${stage} /> v${version} `)}</p>
    </div>`)}</div>`;
}

function Verdict({ event }) {
  if (!event) return html`<span class="muted">—</span>`;
  const d = event.details || {};
  const scores = d.metric ? `${d.metric} ${num(d.candidate)} vs ${num(d.champion)}` : "";
  return html`<span class=${event.action === "gate:passed" ? "good" : "bad"} title=${event.reason}>
    ${event.action === "gate:passed" ? "passed" : "failed"}${scores ? `: ${scores}` : ""}${d.rows ? ` on ${d.rows} rows` : ""}
    ${d.margin ? html`<br /><span class="muted">gain ${num(d.margin.gain)} ± ${num(d.margin.stderr)} (z ${num(d.margin.z, 3)})</span>` : null}
  </span>`;
}

function Lineage({ version }) {
  const l = version.lineage || {};
  return html`<div>
    ${version.run_id ? html`<a href=${`#/runs/${version.run_id}`}>run ${l.run_name || short(version.run_id)}</a>` : html`<span class="muted">no run</span>`}
    ${(l.datasets || []).map((d) => html`<br /><a href=${`#/datasets/${q(d.name)}/${d.version || ""}`}>${d.name}${d.version ? ` v${d.version}` : ""}</a> <span class="muted">(${d.role})</span>`)}
    ${l.code && l.code.commit ? html`<br /><span class="mono">${l.code.commit.slice(0, 10)}</span>` : null}
  </div>`;
}

export function ModelPage({ name, me }) {
  const [model, error, reloadModel] = useGet(`/models/${q(name)}`);
  const [history, historyError, reloadHistory] = useGet(`/models/${q(name)}/history`);
  const reload = () => { reloadModel(); reloadHistory(); };
  const waiting = pending(model, error || historyError, name);
  if (waiting) return waiting;
  const events = history || [];
  const gate = {};
  events.filter((e) => e.action.startsWith("gate:")).forEach((e) => { gate[e.to_value] = e; });
  const approvals = {};
  events.filter((e) => e.action === "approve").forEach((e) => { (approvals[e.to_value] = approvals[e.to_value] || []).push(e.actor); });
  const versions = [...model.versions].sort((a, b) => b.version - a.version);
  const policy = model.model;
  const base = `/models/${q(name)}`;
  return html`<h1>Model ${name}</h1>
    <p class="muted">${policy.required_approvals ? `${policy.required_approvals} approval(s) needed before production` : "no approval needed"}${policy.two_person_rule ? "; two-person rule: who registered a version cannot approve it" : ""}.</p>
    <div class="toolbar"><${Action} me=${me} role="approver" label="Roll back production" danger path=${`${base}/rollback`} onDone=${reload} /></div>
    <div class="scroll"><table data-testid="versions">
      <thead><tr><th>Version</th><th>Stage</th><th>Aliases</th><th>Registered</th><th>Metrics</th><th>Gate</th><th>Lineage</th><th>Actions</th></tr></thead>
      <tbody>${versions.map((v) => html`<tr>
        <td>v${v.version}<br /><span class="muted">${v.description}</span></td>
        <td><${Pill} value=${v.stage} />${approvals[v.version] ? html`<br /><span class="muted">approved by ${approvals[v.version].join(", ")}</span>` : null}</td>
        <td>${v.aliases.map((a) => html`<span class="pill">@${a}</span> `)}</td>
        <td>${when(v.created_at)}<br /><span class="muted">${v.created_by}</span></td>
        <td>${Object.entries((v.lineage || {}).metrics || {}).slice(0, 4).map(([k, m]) => html`<div>${k} <b>${num(m)}</b></div>`)}</td>
        <td><${Verdict} event=${gate[String(v.version)]} /></td>
        <td><${Lineage} version=${v} /></td>
        <td>
          <${Action} me=${me} role="approver" label="Approve" path=${`${base}/versions/${v.version}/approvals`} ask="Comment" field="comment" onDone=${reload} />
          ${v.stage !== "staging" && v.stage !== "production" ? html`<${Action} me=${me} role="approver" label="To staging" path=${`${base}/versions/${v.version}/stage`} body=${{ stage: "staging" }} onDone=${reload} />` : null}
          ${v.stage !== "production" ? html`<${Action} me=${me} role="approver" label="To production" path=${`${base}/versions/${v.version}/stage`} body=${{ stage: "production" }} onDone=${reload} />` : null}
          ${v.stage !== "archived" ? html`<${Action} me=${me} role="approver" label="Archive" danger path=${`${base}/versions/${v.version}/stage`} body=${{ stage: "archived" }} onDone=${reload} />` : null}
        </td>
      </tr>`)}</tbody></table></div>
    <h2>Audit history</h2>
    <${AuditTimeline} events=${events} describe=${(e) => `${e.from_value ? `${e.from_value} → ` : ""}${e.to_value || ""}`} />`;
}
