// The rendering kit every page shares: Preact through htm (no build step), and small pieces.
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";
import { get } from "./api.js";
import { when } from "./format.js";

export const html = htm.bind(h);

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">${error.message || String(error)}</div>`;
}

export function Loading({ what = "" }) {
  return html`<p class="loading">Loading${what ? ` ${what}` : ""}…</p>`;
}

export function Pill({ value }) {
  return value === null || value === undefined ? null : html`<span class=${`pill ${value}`}>${String(value).replace(/_/g, " ")}</span>`;
}

export function KeyValues({ items }) {
  return html`<dl class="kv">${items.filter(([, v]) => v !== undefined && v !== null && v !== "").map(
    ([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`,
  )}</dl>`;
}

const ROLES = ["viewer", "editor", "approver", "admin"];

// What the signed-in role may do; the server checks again whatever the page shows.
export function allows(me, role) {
  if (!me) return false;
  if (me.role === "admin") return true;
  return ROLES.indexOf(me.role) >= ROLES.indexOf(role);
}

// One GET of the API, kept in the component: [data, error, reload]; an answer that comes
// after the page moved on is dropped.
export function useGet(path) {
  const [state, setState] = useState({ data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stale = false;
    get(path).then(
      (data) => !stale && setState({ data, error: null }),
      (error) => !stale && setState({ data: null, error }),
    );
    return () => { stale = true; };
  }, [path, tick]);
  return [state.data, state.error, () => setTick((t) => t + 1)];
}

// What a page shows until its data came: the error, or that it is loading.
export function pending(data, error, what) {
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (data === null || data === undefined) return html`<${Loading} what=${what} />`;
  return null;
}

// Audit events newest first, each with who, when and why; ``describe`` says what changed.
export function AuditTimeline({ events, describe }) {
  const tone = (action) => (/fail|rollback|reject/.test(action) ? "bad" : /passed|promote/.test(action) ? "good" : "");
  return html`<ul class="timeline">${[...events].sort((a, b) => b.timestamp - a.timestamp).map((e) => html`<li class=${tone(e.action)}>
    <b>${e.action}</b> ${describe(e)} <span class="muted">by ${e.actor}, ${when(e.timestamp)}</span>${e.reason ? html`<br />${e.reason}` : null}</li>`)}</ul>`;
}
