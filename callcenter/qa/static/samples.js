// The inspector's list of samples: agent, call date, reason, due date, status; overdue
// samples (due date passed, not yet scored) are highlighted.
import { get } from "./api.js";
import { el, replace, table } from "./dom.js";
import { formatDate, toDate } from "./format.js";
import { label, t } from "./i18n.js";

// The API says whether a sample is overdue; older answers without the flag are judged here.
export function isOverdue(sample, now = new Date()) {
  if (typeof sample.overdue === "boolean") return sample.overdue;
  const due = toDate(sample.due_at);
  return Boolean(due) && due < now && sample.evaluation_id == null;
}

function callDate(sample) {
  return sample.call_at ?? sample.arrived_at ?? sample.answered_at ?? null;
}

function reasons(sample) {
  const all = sample.reasons && sample.reasons.length ? sample.reasons : [sample.reason];
  return all.map((r) => label("reason", r)).join(", ");
}

export async function renderSamples(view, ctx, params) {
  const mine = !ctx.isManager || params.get("mine") === "1";
  const status = params.get("status") || "";
  const query = new URLSearchParams();
  if (mine) query.set("mine", "1");
  if (status) query.set("status", status);
  const data = await get(`/api/qa/samples?${query}`);
  const samples = data.samples || [];

  const filters = el("form", { className: "filters", onsubmit: (e) => e.preventDefault() });
  const statusChoice = el(
    "select",
    { name: "status" },
    el("option", { value: "" }, t("samples.filter.any")),
    [...new Set(["unassigned", "assigned", "submitted", "locked", ...samples.map((s) => s.status), status])]
      .filter(Boolean)
      .map((s) => el("option", { value: s, selected: s === status }, label("status", s))),
  );
  const onlyMine = ctx.isManager
    ? el("input", { type: "checkbox", name: "mine", checked: mine })
    : null;
  const apply = () => {
    const next = new URLSearchParams();
    if (onlyMine && onlyMine.checked) next.set("mine", "1");
    if (statusChoice.value) next.set("status", statusChoice.value);
    window.location.hash = `#/samples?${next}`;
  };
  statusChoice.addEventListener("change", apply);
  if (onlyMine) onlyMine.addEventListener("change", apply);
  filters.append(
    el("label", {}, t("samples.filter"), " ", statusChoice),
    onlyMine ? el("label", {}, onlyMine, " ", t("samples.onlyMine")) : null,
  );

  const now = new Date();
  const headers = [
    t("col.agent"),
    samples.some(callDate) ? t("col.date") : t("col.month"),
    t("col.reason"),
    t("col.due"),
    t("col.status"),
    ctx.isManager ? t("col.inspector") : null,
    "",
  ].filter((h) => h !== null);
  const rows = samples.map((sample) => {
    const overdue = isOverdue(sample, now);
    const when = callDate(sample);
    return el(
      "tr",
      { className: overdue ? "overdue" : "", dataset: { sampleId: sample.id } },
      el("td", {}, sample.agent ?? "–"),
      el("td", {}, when ? formatDate(when) : sample.month ?? "–"),
      el("td", {}, reasons(sample)),
      el(
        "td",
        {},
        formatDate(sample.due_at),
        overdue ? el("span", { className: "badge danger" }, t("overdue")) : null,
      ),
      el("td", {}, el("span", { className: `status status-${sample.status}` }, label("status", sample.status))),
      ctx.isManager ? el("td", {}, [].concat(sample.inspectors ?? sample.inspector ?? []).join(", ") || "–") : null,
      el("td", {}, el("a", { href: `#/sample/${sample.id}`, className: "open" }, t("open"))),
    );
  });
  replace(
    view,
    el("h2", {}, mine ? t("samples.mine") : t("samples.all")),
    filters,
    samples.length
      ? table(headers, rows, { id: "samples" })
      : el("p", { className: "muted" }, t("samples.empty")),
  );
}
