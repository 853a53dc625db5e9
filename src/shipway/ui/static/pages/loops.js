// Loops: each continuous-training loop's state, and its history as one timeline (trigger,
// training, gate verdict, approval, canary steps, promotion or rollback, with the reasons);
// a candidate waiting for approval gets the button, for approvers.
import { useEffect, useState } from "preact/hooks";
import { get, q } from "../api.js";
import { num, when } from "../format.js";
import { AuditTimeline, ErrorBox, Loading, Pill, html, useGet } from "../ui.js";
import { Action } from "./actions.js";
import { Evidence, routing } from "./deployments.js";

// A registry event in words: which version, and what changed ("v4 staging → production").
function versionEvent(e) {
  const version = (e.details || {}).version;
  if (/^\d+$/.test(e.to_value || "")) return `v${e.to_value}`;
  return `${version ? `v${version} ` : ""}${e.from_value ? `${e.from_value} → ` : ""}${e.to_value || ""}`;
}

function Timeline({ deployment, model }) {
  const [events, setEvents] = useState(null);
  useEffect(() => {
    Promise.all([
      get(`/deployments/${q(deployment)}/history`),
      model ? get(`/models/${q(model)}/history`) : Promise.resolve([]),
    ]).then(([moves, registry]) => {
      const mine = registry.filter((e) => e.actor === "shipway-controller" || ["approve", "rollback", "transition"].includes(e.action));
      setEvents([...moves.map((e) => ({ ...e, what: routing(e.to_value) })), ...mine.map((e) => ({ ...e, what: versionEvent(e) }))]
        .sort((a, b) => b.timestamp - a.timestamp).slice(0, 60));
    }, () => setEvents([]));
  }, [deployment, model]);
  if (!events) return html`<${Loading} what="history" />`;
  return html`<${AuditTimeline} events=${events} describe=${(e) => e.what} />`;
}

// The run that trained the candidate: its pipeline's steps as a graph, on the run's page.
function TrainingLink({ model, version }) {
  const [found] = useGet(`/models/${q(model)}/versions/${version}`);
  if (!found || !found.run_id) return null;
  return html`<p>Training: <a href=${`#/runs/${found.run_id}`}>the pipeline run of v${version}</a> (its steps, what was reused from the cache)</p>`;
}

export function LoopsPage({ me }) {
  const [loops, setLoops] = useState(null);
  const [deployments, setDeployments] = useState({});
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    get("/loops").then(setLoops, setError);
    get("/deployments").then((all) => setDeployments(Object.fromEntries(all.map((d) => [d.name, d]))), setError);
  }, [tick]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!loops) return html`<${Loading} what="loops" />`;
  if (!loops.length) return html`<h1>Loops</h1><p class="notice">No loop declared. Add <code>[loops.DEPLOYMENT]</code> to the server's <code>shipway.toml</code>; see the loops guide.</p>`;
  return html`<h1>Loops</h1>${loops.map((loop) => {
    const model = (deployments[loop.deployment] || {}).model;
    const v = loop.verdict;
    return html`<section class="card" data-testid=${`loop-${loop.deployment}`}>
      <h2><a href=${`#/deployments/${q(loop.deployment)}`}>${loop.deployment}</a> <${Pill} value=${loop.state} /></h2>
      <p>${loop.shown}${loop.message ? ` — ${loop.message}` : ""}</p>
      <p class="muted">champion v${loop.champion ?? "?"}${loop.candidate ? `, candidate v${loop.candidate}` : ""}; pipeline ${loop.pipeline}; triggers ${loop.triggers.join(", ")}${loop.updated_at ? `; updated ${when(loop.updated_at)}` : ""}</p>
      ${v ? html`<p>Gate: <span class=${v.passed ? "good" : "bad"}>${v.passed ? "passed" : "failed"}</span> ${v.metric} ${num(v.candidate)} vs the champion's ${num(v.champion)} on ${v.rows} rows${(v.reasons || []).length ? ` (${v.reasons.join("; ")})` : ""}</p>` : null}
      ${loop.state === "waiting_approval" && model && loop.candidate
        ? html`<p><${Action} me=${me} role="approver" label=${`Approve v${loop.candidate}`} ask="Comment" field="comment"
            path=${`/models/${q(model)}/versions/${loop.candidate}/approvals`} onDone=${() => setTick(tick + 1)} /></p>` : null}
      ${model && loop.candidate ? html`<${TrainingLink} model=${model} version=${loop.candidate} />` : null}
      <${Evidence} evidence=${loop.evidence} />
      <details open><summary>History</summary><${Timeline} deployment=${loop.deployment} model=${model} /></details>
    </section>`;
  })}`;
}
