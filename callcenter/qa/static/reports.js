// Supervisors' views: calibration (one call, several inspectors, scores side by side per
// item), the per-agent monthly summary and the weekly defects report, as plain tables.
import { get } from "./api.js";
import { el, replace, table } from "./dom.js";
import { formatNumber } from "./format.js";
import { label, language, t } from "./i18n.js";

function itemLabel(item) {
  if (!item) return "";
  return language().startsWith("zh") ? item.label_zh || item.label_en || item.key : item.label_en || item.label_zh || item.key;
}

export function currentMonth(now = new Date()) {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}

// ISO 8601 week, e.g. "2025-W07".
export function currentWeek(now = new Date()) {
  const day = new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = new Date(Date.UTC(day.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((day - yearStart) / 86400000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

function pickerForm(fieldLabel, name, type, value, onPick) {
  const input = el("input", { name, type, value, required: true });
  return el(
    "form",
    {
      className: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        onPick(input.value.trim());
      },
    },
    el("label", {}, fieldLabel, " ", input),
    " ",
    el("button", { type: "submit" }, t("show")),
  );
}

// {inspectors, assigned, items: [{key, label_*, scores: {inspector: n}, mean, spread}],
//  totals: {inspector: total}, total_spread, evaluations}
export async function renderCalibration(view, ctx, linkedid) {
  const picker = pickerForm(t("calibration.linkedid"), "linkedid", "text", linkedid, (value) => {
    window.location.hash = `#/calibration/${encodeURIComponent(value)}`;
  });
  if (!linkedid) {
    replace(view, el("h2", {}, t("calibration.heading")), picker);
    return;
  }
  const data = await get(`/api/qa/calibration/${encodeURIComponent(linkedid)}`);
  // Everyone assigned gets a column, scored or not yet.
  const who = [...new Set([...(data.inspectors || []), ...(data.assigned || [])])];
  const comments = {};
  for (const e of data.evaluations || []) comments[e.inspector] = e.comments || {};
  const items = data.items || [];
  let body;
  if (!(data.inspectors || []).length) {
    body = el("p", { className: "muted" }, t("calibration.empty"));
  } else {
    const rows = items.map((item) =>
      el(
        "tr",
        { className: (item.spread ?? 0) > 1 ? "disagree" : "", dataset: { item: item.key } },
        el("th", { scope: "row" }, itemLabel(item)),
        who.map((name) =>
          el(
            "td",
            { className: "num", title: (comments[name] || {})[item.key] || "" },
            (item.scores || {})[name] ?? "–",
          ),
        ),
        el("td", { className: "num" }, formatNumber(item.mean)),
        el("td", { className: "num" }, item.spread ?? "–"),
      ),
    );
    rows.push(
      el(
        "tr",
        { className: "total" },
        el("th", { scope: "row" }, t("col.total")),
        who.map((name) => el("td", { className: "num" }, formatNumber((data.totals || {})[name]))),
        el("td", {}, ""),
        el("td", { className: "num" }, formatNumber(data.total_spread)),
      ),
    );
    body = table([t("col.item"), ...who, t("col.mean"), t("col.spread")], rows, { id: "calibration" });
  }
  replace(
    view,
    el("h2", {}, t("calibration.heading")),
    picker,
    el(
      "p",
      {},
      el("code", {}, linkedid),
      data.agent ? ` · ${t("col.agent")} ${data.agent}` : "",
      data.sample_id ? [" · ", el("a", { href: `#/sample/${data.sample_id}` }, t("sample.heading", { id: data.sample_id }))] : "",
    ),
    body,
  );
}

// {month, form, defect_below, agents: [{agent, samples, evaluations, locked, total,
//  total_min, total_max, items: {key: mean}, defects}]}
export async function renderSummary(view, ctx, month) {
  const chosen = month || currentMonth();
  const picker = pickerForm(t("summary.month"), "month", "month", chosen, (value) => {
    window.location.hash = `#/summary?month=${encodeURIComponent(value)}`;
  });
  const data = await get(`/api/qa/summary?month=${encodeURIComponent(chosen)}`);
  const agents = data.agents || [];
  const items = (data.form && data.form.items) || [];
  const rows = agents.map((row) =>
    el(
      "tr",
      { dataset: { agent: row.agent } },
      el("th", { scope: "row" }, row.agent),
      el("td", { className: "num" }, row.samples ?? 0),
      el("td", { className: "num" }, row.evaluations ?? 0),
      items.map((item) => el("td", { className: "num" }, formatNumber((row.items || {})[item.key]))),
      el("td", { className: "num" }, formatNumber(row.total)),
      el(
        "td",
        { className: "num" },
        row.total_min !== undefined ? `${formatNumber(row.total_min)}–${formatNumber(row.total_max)}` : "–",
      ),
      el("td", { className: "num" }, row.defects ?? "–"),
    ),
  );
  replace(
    view,
    el("h2", {}, t("summary.heading")),
    picker,
    agents.length
      ? table(
          [
            t("col.agent"),
            t("col.samples"),
            t("col.evaluations"),
            ...items.map(itemLabel),
            t("col.average"),
            t("col.range"),
            t("col.defects"),
          ],
          rows,
          { id: "summary" },
        )
      : el("p", { className: "muted" }, t("summary.empty")),
    agents.length && data.defect_below !== undefined
      ? el("p", { className: "muted" }, t("summary.defectNote", { below: formatNumber(data.defect_below) }))
      : null,
  );
}

// {week, from, to, evaluations, defect_below, defects: [{kind, key, label_zh, label_en,
//  count, agents: [...], by_agent: {agent: n}}]}
export async function renderWeekly(view, ctx, week) {
  const chosen = week || currentWeek();
  const picker = pickerForm(t("weekly.week"), "week", "week", chosen, (value) => {
    window.location.hash = `#/weekly?week=${encodeURIComponent(value)}`;
  });
  const data = await get(`/api/qa/reports/weekly?week=${encodeURIComponent(chosen)}`);
  const defects = data.defects || [];
  const rows = defects.map((d) =>
    el(
      "tr",
      { dataset: { defect: d.key } },
      el("th", { scope: "row" }, itemLabel(d)),
      el("td", {}, label("kind", d.kind)),
      el("td", { className: "num" }, d.count ?? "–"),
      el(
        "td",
        {},
        Object.entries(d.by_agent || {})
          .map(([agent, n]) => `${agent} ×${n}`)
          .join(", "),
      ),
    ),
  );
  replace(
    view,
    el("h2", {}, t("weekly.heading")),
    picker,
    el("p", { className: "muted" }, t("weekly.evaluations", { n: data.evaluations ?? 0 })),
    el("h3", {}, t("weekly.commonDefects")),
    defects.length
      ? table([t("col.defect"), t("col.kind"), t("col.count"), t("col.agent")], rows, { id: "weekly" })
      : el("p", { className: "muted" }, t("weekly.empty")),
  );
}
