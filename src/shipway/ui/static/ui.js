// The rendering kit every page shares: Preact through htm (no build step), and small pieces.
import { h } from "preact";
import htm from "htm";

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
