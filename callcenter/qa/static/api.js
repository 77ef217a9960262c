// The QA API over fetch: the session cookie authenticates, state changes carry the CSRF
// token from GET /api/me, and a refusal becomes an ApiFailure carrying the API's error body.

let csrfToken = null;

export class ApiFailure extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.errorId = body.error_id || `http-${status}`;
    this.details = body.details || {};
  }
}

function toLogin() {
  window.location.assign(`/login?next=${encodeURIComponent("/qa" + window.location.hash)}`);
}

async function parse(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("application/json")) return response.json();
  const text = await response.text();
  return { message: text.slice(0, 300) || response.statusText };
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") {
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  const response = await fetch(path, init);
  const data = await parse(response);
  if (response.status === 401) {
    toLogin();
  }
  if (!response.ok) throw new ApiFailure(response.status, data);
  return data;
}

// Who is logged in; keeps the CSRF token for later state-changing requests.
export async function whoAmI() {
  const data = await request("GET", "/api/me");
  csrfToken = data.csrf_token || null;
  return data.user || data;
}

export const get = (path) => request("GET", path);
export const put = (path, body) => request("PUT", path, body);
export const post = (path, body) => request("POST", path, body);
