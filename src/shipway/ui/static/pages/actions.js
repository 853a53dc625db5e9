// An action button: shown only to a role that may use it (the server refuses the others
// anyway), asks for a reason, and shows the server's refusal where it happened.
import { useState } from "preact/hooks";
import { post } from "../api.js";
import { ErrorBox, allows, html } from "../ui.js";

// ``ask``: the prompt ("" asks nothing); ``field``: the body's field the answer fills.
export function Action({ me, role, label, path, body = {}, ask = "Reason (kept in the audit log)", field = "reason", onDone, danger = false }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  if (!allows(me, role)) return null;
  const act = async () => {
    const reason = ask ? window.prompt(`${label}. ${ask}:`, "") : "";
    if (reason === null) return;
    setBusy(true);
    setError(null);
    try {
      await post(path, ask ? { ...body, [field]: reason } : body);
      if (onDone) onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<span class="action"><button class=${danger ? "danger" : ""} disabled=${busy} onClick=${act}>${label}</button><${ErrorBox} error=${error} /></span>`;
}
