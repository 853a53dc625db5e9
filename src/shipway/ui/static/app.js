// The shell: who is signed in, the navigation, and which page the address names (#/runs, …).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { call, useCsrf } from "./api.js";
import { zone } from "./format.js";
import { ErrorBox, Loading, html } from "./ui.js";
import { RunsPage } from "./pages/runs.js";
import { RunPage } from "./pages/run.js";
import { ComparePage } from "./pages/compare.js";
import { ModelsPage, ModelPage } from "./pages/models.js";
import { DeploymentsPage, DeploymentPage } from "./pages/deployments.js";
import { LoopsPage } from "./pages/loops.js";
import { MonitoringPage } from "./pages/monitoring.js";
import { DatasetsPage, DatasetPage } from "./pages/datasets.js";
import { ApiPage } from "./pages/api.js";

const SECTIONS = [
  ["runs", "Runs"], ["models", "Models"], ["deployments", "Deployments"], ["loops", "Loops"],
  ["monitoring", "Monitoring"], ["datasets", "Datasets"], ["api", "API"],
];

// "#/runs/abc?x=1" → { parts: ["runs", "abc"], query: URLSearchParams }
export function parseHash(hash) {
  const [path, search = ""] = hash.replace(/^#\/?/, "").split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

function pageFor(route, me) {
  const [section = "runs", id, sub] = route.parts;
  const props = { me, query: route.query };
  switch (section) {
    case "runs":
      return id ? html`<${RunPage} runId=${id} ...${props} />` : html`<${RunsPage} ...${props} />`;
    case "compare":
      return html`<${ComparePage} ...${props} />`;
    case "models":
      return id ? html`<${ModelPage} name=${id} ...${props} />` : html`<${ModelsPage} ...${props} />`;
    case "deployments":
      return id ? html`<${DeploymentPage} name=${id} ...${props} />` : html`<${DeploymentsPage} ...${props} />`;
    case "loops":
      return html`<${LoopsPage} ...${props} />`;
    case "monitoring":
      return html`<${MonitoringPage} deployment=${id} ...${props} />`;
    case "datasets":
      return id ? html`<${DatasetPage} name=${id} version=${sub} ...${props} />` : html`<${DatasetsPage} ...${props} />`;
    case "api":
      return html`<${ApiPage} ...${props} />`;
    default:
      return html`<p>No page here. <a href="#/runs">Runs</a></p>`;
  }
}

function SignIn({ onSignedIn, sso }) {
  const [token, setToken] = useState("");
  const refused = new URLSearchParams(location.search).get("sso_error");
  const [error, setError] = useState(refused ? { message: refused } : null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      await call("POST", "/ui/session", { token });
      onSignedIn();
    } catch (e) {
      setError(e);
    }
  };
  return html`<main class="signin">
    <h1>Sign in to shipway</h1>
    <p class="muted">Paste a token (an admin makes one with <code>shipway tokens create NAME --role viewer</code>).
      It is kept in a secure cookie, never in the address.</p>
    ${sso ? html`<p><a class="button primary" href="/ui/sso/login">Sign in with ${sso}</a></p><p class="muted">or with a token:</p>` : null}
    <form onSubmit=${submit}>
      <label for="token">Token</label>
      <input id="token" type="password" autocomplete="off" value=${token} onInput=${(e) => setToken(e.target.value)} required />
      <${ErrorBox} error=${error} />
      <button class="primary" type="submit">Sign in</button>
    </form>
  </main>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [sso, setSso] = useState(null);
  const [error, setError] = useState(null);
  const [route, setRoute] = useState(parseHash(location.hash));
  const load = async () => {
    try {
      const session = await call("GET", "/ui/session");
      useCsrf(session.csrf);
      setSso(session.sso);
      setMe(session.user ? session : null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
    const follow = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  if (error) return html`<main><${ErrorBox} error=${error} /></main>`;
  if (me === undefined) return html`<${Loading} what="shipway" />`;
  if (me === null) return html`<${SignIn} onSignedIn=${load} sso=${sso} />`;
  const section = route.parts[0] || "runs";
  const signOut = async () => {
    await call("DELETE", "/ui/session");
    setMe(null);
  };
  return html`
    <header class="top">
      <a class="brand" href="#/runs">shipway</a>
      <nav aria-label="sections">${SECTIONS.map(
        ([key, label]) => html`<a href=${`#/${key}`} aria-current=${section === key || (key === "runs" && section === "compare") ? "page" : undefined}>${label}</a>`,
      )}</nav>
      <span class="who">
        <span title=${`times are shown in ${zone}`}>${me.user} · ${me.role}${me.open ? " (open server)" : ""}</span>
        ${me.open ? null : html`<button onClick=${signOut}>Sign out</button>`}
      </span>
    </header>
    <main>${pageFor(route, me)}</main>`;
}

render(html`<${App} />`, document.getElementById("app"));
