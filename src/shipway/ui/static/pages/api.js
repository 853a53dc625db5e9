// The API: every operation of the OpenAPI document, grouped by area, with the least role it
// needs (as the server enforces it); the document itself is one link away.
import { html, pending, useGet } from "../ui.js";

const METHODS = ["get", "post", "put", "delete", "head"];

export function ApiPage() {
  const [document, error] = useGet("/openapi.json");
  const waiting = pending(document, error, "the API's description");
  if (waiting) return waiting;
  const groups = {};
  Object.entries(document.paths).forEach(([path, operations]) =>
    METHODS.filter((m) => operations[m]).forEach((method) => {
      const operation = operations[method];
      const tag = (operation.tags || ["other"])[0];
      (groups[tag] = groups[tag] || []).push({ method: method.toUpperCase(), path, operation });
    }));
  return html`<h1>REST API <span class="muted">${document.info.title} ${document.info.version}</span></h1>
    <p>What the UI, the Python client and the CLI call. Send <code>Authorization: Bearer TOKEN</code> once the server has tokens.
      The whole description: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI ${document.openapi}).</p>
    ${Object.entries(groups).sort().map(([tag, operations]) => html`<h2>${tag}</h2>
      <div class="scroll"><table><thead><tr><th>Method</th><th>Path</th><th>Role</th><th>What it does</th></tr></thead><tbody>${operations.map(
        ({ method, path, operation }) => html`<tr><td class="mono">${method}</td><td class="mono">${path}</td>
          <td>${operation["x-shipway-role"] || html`<span class="muted">anyone</span>`}</td>
          <td>${operation.summary || ""}${operation.description ? html`<br /><span class="muted">${operation.description.split("\n")[0]}</span>` : null}</td></tr>`,
      )}</tbody></table></div>`)}`;
}
