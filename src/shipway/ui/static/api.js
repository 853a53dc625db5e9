// The REST API as the page calls it: same origin, the session cookie, and the CSRF token on
// every change. An error keeps the server's JSON body, so a page can show its message.
let csrf = null;

export function useCsrf(token) {
  csrf = token;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the server answered ${status}`);
    this.status = status;
    this.code = error.code;
    this.details = error.details;
    this.hint = error.hint;
  }
}

export async function call(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (csrf && method !== "GET") headers["x-shipway-csrf"] = csrf;
  const response = await fetch(path.startsWith("/ui/") ? path : `/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);
export const q = encodeURIComponent;

// An artifact's bytes, for a preview (the cookie authenticates it like any call).
export async function artifact(runId, path) {
  const response = await fetch(`/api/v1/runs/${q(runId)}/artifacts/${path.split("/").map(q).join("/")}`, {
    credentials: "same-origin",
  });
  if (!response.ok) throw new ApiError(response.status, null);
  return response.blob();
}
