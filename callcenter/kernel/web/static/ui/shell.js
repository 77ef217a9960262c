// The shared page helpers: who is logged in, API calls carrying the CSRF token, logout.
//   const me = await cc.me();          // {user: {...}, csrf_token} or redirects to /login
//   const data = await cc.api("POST", "/api/...", {...});   // throws cc.ApiError
// An element with id "cc-user" is filled with the user's name and a logout button.
"use strict";
const cc = (() => {
  let mePromise = null;

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.errorId = (body && body.error_id) || `http-${status}`;
      this.details = (body && body.details) || {};
    }
  }

  function toLogin() {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/login?next=${next}`);
  }

  function me() {
    if (!mePromise) {
      mePromise = fetch("/api/me", { credentials: "same-origin" }).then(async (r) => {
        if (r.status === 401) { toLogin(); throw new ApiError(401, await r.json()); }
        if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
        return r.json();
      });
    }
    return mePromise;
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (!["GET", "HEAD"].includes(method.toUpperCase())) {
      headers["X-CSRF-Token"] = (await me()).csrf_token;
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const type = r.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await r.json() : await r.text();
    if (r.status === 401) { mePromise = null; toLogin(); }
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }

  async function logout() {
    try { await api("POST", "/logout"); } finally { location.assign("/login"); }
  }

  function lang() {
    return (document.documentElement.lang || "zh-CN").startsWith("en") ? "en" : "zh-CN";
  }

  async function fillUserBar() {
    const slot = document.getElementById("cc-user");
    if (!slot) return;
    const { user } = await me();
    const name = document.createElement("span");
    name.textContent = `${user.display_name || user.username} (${user.role})`;
    const out = document.createElement("button");
    out.className = "cc-button cc-plain";
    out.type = "button";
    out.textContent = lang() === "en" ? "Log out" : "退出登录";
    out.addEventListener("click", logout);
    slot.replaceChildren(name, out);
  }

  document.addEventListener("DOMContentLoaded", () => { fillUserBar().catch(() => {}); });
  return { me, api, logout, lang, ApiError };
})();
