// Supervisors: who inspects this sample, and assigning it to more inspectors (calibration:
// the same call scored by several, compared side by side).
import { get, post } from "./api.js";
import { el, replace, table } from "./dom.js";
import { errorParts } from "./errors.js";
import { formatDate, formatNumber } from "./format.js";
import { label, t } from "./i18n.js";

function endOfDay(value) {
  // A date picked in the browser: due at the end of that local day, as epoch seconds.
  return value ? new Date(`${value}T23:59:59`).getTime() / 1000 : undefined;
}

export async function buildAssign(ctx, data) {
  const assignments = data.assignments || [];
  const byInspector = {};
  for (const e of data.evaluations || []) byInspector[e.inspector] = e;
  const current = assignments.length
    ? table(
        [t("col.inspector"), t("col.due"), t("col.status"), t("col.total")],
        assignments.map((a) => {
          const e = byInspector[a.inspector];
          const status = !e ? "assigned" : e.locked ? "locked" : "submitted";
          return el(
            "tr",
            {},
            el("td", {}, a.inspector, a.calibration ? el("span", { className: "tag" }, t("assign.calibration")) : null),
            el("td", {}, formatDate(a.due_at)),
            el("td", {}, label("status", status)),
            el("td", { className: "num" }, e ? formatNumber(e.total) : "–"),
          );
        }),
        { id: "assignments" },
      )
    : el("p", { className: "muted" }, t("assign.none"));

  const status = el("div", { className: "form-status", role: "alert", hidden: true });
  let inspectors = [];
  try {
    inspectors = (await get("/api/qa/inspectors")).inspectors || [];
  } catch (error) {
    replace(status, ...errorParts(error));
    status.className = "form-status error";
    status.hidden = false;
  }
  const taken = new Set(assignments.map((a) => a.inspector));
  const choices = inspectors
    .filter((i) => !taken.has(i.username))
    .map((i) =>
      el(
        "label",
        { className: "choice" },
        el("input", { type: "checkbox", name: "inspector", value: i.username }),
        ` ${i.username} `,
        el("span", { className: "muted" }, t("assign.open", { n: i.open })),
      ),
    );
  const due = el("input", { type: "date", name: "due" });
  const form = el(
    "form",
    { id: "assign", className: "assign" },
    choices.length ? el("div", { className: "choices" }, choices) : el("p", { className: "muted" }, t("assign.noneLeft")),
    el("label", {}, t("col.due"), " ", due, " ", el("span", { className: "muted" }, t("assign.dueHint"))),
    " ",
    el("button", { type: "submit", disabled: !choices.length }, t("assign.submit")),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const names = [...form.querySelectorAll("input[name=inspector]:checked")].map((i) => i.value);
    if (!names.length) return;
    const body = { inspectors: names };
    const dueAt = endOfDay(due.value);
    if (dueAt !== undefined) body.due_at = dueAt;
    try {
      await post(`/api/qa/samples/${data.sample.id}/assign`, body);
      await ctx.reload();
      ctx.showNotice(t("assign.done", { names: names.join(", ") }));
    } catch (error) {
      replace(status, ...errorParts(error));
      status.className = "form-status error";
      status.hidden = false;
    }
  });
  return el("section", { className: "assignments" }, el("h3", {}, t("assign.heading")), current, form);
}
