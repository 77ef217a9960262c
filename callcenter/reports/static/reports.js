// The reports page: the filters become the query of GET /api/reports/{kind}; the table is
// drawn from the JSON (columns with zh/en labels), and the CSV link is the same query with
// format=csv. Values are put on the page as text, never as markup.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const en = () => (document.documentElement.lang || "").startsWith("en");
  const FIELDS = {
    workload: ["from", "to", "queue", "agent", "period", "by"],
    complaints: ["from", "to", "queue", "agent"],
    "service-level": ["from", "to", "queue"],
    qa: ["month", "agent"],
  };

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function query() {
    const kind = $("report-kind").value;
    const params = new URLSearchParams();
    for (const name of FIELDS[kind]) {
      const value = $(`report-${name}`).value.trim();
      if (value) params.set(name, value);
    }
    return { kind, params };
  }

  function syncFields() {
    const wanted = new Set(FIELDS[$("report-kind").value]);
    for (const name of ["from", "to", "queue", "agent", "period", "by", "month"]) {
      $(`report-${name}`).closest("label").hidden = !wanted.has(name);
    }
    const { kind, params } = query();
    params.set("format", "csv");
    $("report-csv").href = `/api/reports/${kind}?${params}`;
  }

  function cell(value, column) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number" && /share|rate|^sl/.test(column.key)) return `${(value * 100).toFixed(1)}%`;
    return value;
  }

  async function show() {
    const { kind, params } = query();
    const error = $("report-error");
    const response = await fetch(`/api/reports/${kind}?${params}`, { credentials: "same-origin" });
    const data = await response.json();
    if (!response.ok) {
      error.textContent = data.message || `HTTP ${response.status}`;
      error.dataset.errorId = data.error_id || "";
      error.hidden = false;
      return;
    }
    error.hidden = true;
    const head = el("tr", {}, data.columns.map((c) => el("th", { "data-key": c.key }, en() ? c.en : c.zh)));
    const rows = data.rows.map((r) => el("tr", {}, data.columns.map((c) =>
      el("td", { class: c.numeric ? "num" : null }, cell(r[c.key], c)))));
    const table = el("table", { id: "report-rows", "data-kind": data.kind }, el("thead", {}, head), el("tbody", {}, rows));
    if (data.totals) {
      table.append(el("tfoot", {}, el("tr", {}, data.columns.map((c, i) =>
        el("td", { class: "num" }, i === 0 ? (en() ? "Total" : "合計") : cell(data.totals[c.key], c))))));
    }
    $("report-table").replaceChildren(table);
    const overall = data.overall ? Object.entries(data.overall).map(([k, v]) => `${k}: ${cell(v, { key: k })}`).join(" · ") : "";
    $("report-summary").textContent = `${data.rows.length} ${en() ? "rows" : "行"}${overall ? " · " + overall : ""}`;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("report-form");
    form.addEventListener("change", syncFields);
    form.addEventListener("input", syncFields);
    form.addEventListener("submit", (e) => { e.preventDefault(); show().catch((err) => {
      $("report-error").textContent = String(err); $("report-error").hidden = false; }); });
    syncFields();
    show().catch(() => {});
  });
})();
