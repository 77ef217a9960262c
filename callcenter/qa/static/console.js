// The QA console: who is logged in, the language switch, a hash router over the views,
// and one place where API refusals are shown.
import { post, whoAmI } from "./api.js";
import { el, replace } from "./dom.js";
import { errorParts } from "./errors.js";
import { defaultLanguage, setLanguage, t } from "./i18n.js";
import { renderCalibration, renderSummary, renderWeekly } from "./reports.js";
import { renderSample } from "./sample.js";
import { renderSamples } from "./samples.js";

const MANAGERS = new Set(["supervisor", "admin"]);
const ctx = { user: null, isManager: false, showError, showNotice, clearMessages, reload: () => route() };
// Stops the current view's timers and audio; returns what a redraw of the same view keeps
// (the player's position, the unsaved form), e.g. across a language switch.
let leaving = () => null;

export function showError(error) {
  const box = document.getElementById("error");
  replace(
    box,
    ...errorParts(error),
    el("button", { type: "button", className: "link", onclick: () => (box.hidden = true) }, t("dismiss")),
  );
  box.hidden = false;
}

export function showNotice(text) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.hidden = false;
}

export function clearMessages() {
  document.getElementById("error").hidden = true;
  document.getElementById("notice").hidden = true;
}

async function route(redraw = false) {
  const kept = leaving();
  leaving = () => null;
  clearMessages();
  const view = document.getElementById("view");
  const [path, query = ""] = window.location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query);
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.getAttribute("href").split("?")[0] === `#/${parts[0] || "samples"}`);
  }
  try {
    if (parts[0] === "sample" && parts[1]) {
      leaving = await renderSample(view, ctx, parts[1], redraw ? kept : null);
    } else if (parts[0] === "calibration") {
      await renderCalibration(view, ctx, parts[1] ? decodeURIComponent(parts[1]) : "");
    } else if (parts[0] === "summary") {
      await renderSummary(view, ctx, params.get("month"));
    } else if (parts[0] === "weekly") {
      await renderWeekly(view, ctx, params.get("week"));
    } else {
      await renderSamples(view, ctx, params);
    }
  } catch (error) {
    replace(view);
    showError(error);
  }
}

async function start() {
  const chooser = document.getElementById("lang");
  setLanguage(defaultLanguage());
  chooser.value = document.documentElement.lang;
  chooser.addEventListener("change", () => {
    setLanguage(chooser.value);
    showWho();
    route(true); // views draw their strings when rendered
  });
  try {
    ctx.user = await whoAmI();
  } catch (error) {
    showError(error);
    return;
  }
  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await post("/logout");
    } finally {
      window.location.assign("/login");
    }
  });
  ctx.isManager = MANAGERS.has(ctx.user.role);
  for (const link of document.querySelectorAll("[data-managers]")) link.hidden = !ctx.isManager;
  showWho();
  window.addEventListener("hashchange", route);
  await route();
}

function showWho() {
  if (!ctx.user) return;
  const name = ctx.user.display_name || ctx.user.username;
  replace(document.getElementById("who"), `${name} (${t(`who.role.${ctx.user.role}`)})`);
}

start();
