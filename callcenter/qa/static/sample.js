// One sample: the call, the recording and transcript, the automatic checks (suggestions
// only) and the scoring form. Returns a function that stops the player on leaving.
import { get } from "./api.js";
import { el, replace } from "./dom.js";
import { clock, formatDate, formatDateTime, formatSeconds } from "./format.js";
import { buildAssign } from "./assign.js";
import { buildForm } from "./form.js";
import { label, t } from "./i18n.js";
import { buildPlayer } from "./player.js";

function callFacts(call, sample) {
  if (!call) return null;
  const facts = [
    [t("col.agent"), call.agent ?? sample.agent],
    [t("call.caller"), call.caller_number],
    [t("call.when"), formatDateTime(call.answered_at ?? call.arrived_at)],
    [t("call.talk"), formatSeconds(call.talk_seconds)],
    [t("call.queue"), call.queue],
    [t("call.hangup"), call.hangup_first ? label("speaker", call.hangup_first) : null],
    [t("col.reason"), label("reason", sample.reason)],
    [t("col.due"), formatDate(sample.due_at)],
  ].filter(([, value]) => value !== null && value !== undefined && value !== "");
  return el(
    "dl",
    { className: "facts" },
    facts.map(([name, value]) => [el("dt", {}, name), el("dd", {}, String(value))]),
  );
}

function describe(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v}`)
      .join("; ");
  }
  return String(value);
}

function evidenceOf(check, seek) {
  const found = (check.evidence || []).filter((e) => typeof e.start === "number");
  if (!found.length) return null;
  return el(
    "div",
    { className: "evidence" },
    found.map((e) =>
      el("button", { type: "button", className: "seek", onclick: () => seek(e.start) }, `${clock(e.start)} “${e.phrase}”`),
    ),
  );
}

function buildChecks(checks, seek) {
  const items = (checks || []).map((check) => {
    const state = check.passed === true ? "passed" : check.passed === false ? "failed" : "unknown";
    return el(
      "li",
      { className: `check ${state}`, dataset: { check: check.check } },
      el("span", { className: `badge ${state}` }, t(`check.${state}`)),
      " ",
      el("strong", {}, label("check", check.check)),
      check.detail ? el("div", { className: "detail" }, describe(check.detail)) : null,
      evidenceOf(check, seek),
      check.suggestion
        ? el("div", { className: "suggestion" }, el("span", { className: "tag" }, t("suggestion")), " ", describe(check.suggestion))
        : null,
    );
  });
  return el(
    "section",
    { className: "checks", id: "checks" },
    el("h3", {}, t("checks.heading"), " ", el("span", { className: "tag" }, t("suggestion"))),
    el("p", { className: "muted" }, t("checks.note")),
    items.length ? el("ul", {}, items) : el("p", { className: "muted" }, t("checks.none")),
  );
}

// The inspector's unsaved input, by field name.
function draftOf(form) {
  if (!form) return null;
  const draft = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === "radio") {
      if (field.checked) draft[field.name] = field.value;
    } else if ("value" in field && field.tagName !== "BUTTON" && field.tagName !== "FIELDSET") {
      draft[field.name] = field.value;
    }
  }
  return draft;
}

function restoreDraft(form, draft) {
  if (!form || !draft || form.querySelector("fieldset").disabled) return;
  for (const [name, value] of Object.entries(draft)) {
    const field = form.elements[name];
    if (!field) continue;
    if (field instanceof RadioNodeList) {
      for (const radio of field) radio.checked = radio.value === value;
    } else {
      field.value = value;
    }
  }
}

export async function renderSample(view, ctx, id, kept = null) {
  const data = await get(`/api/qa/samples/${encodeURIComponent(id)}`);
  const sample = data.sample;
  const asr = data.asr || (data.transcript_status ?? null);
  const player = buildPlayer(
    data.recordings || [],
    data.transcript || null,
    asr && typeof asr === "object" ? asr.message : asr,
  );
  const formSlot = el("div", { id: "form-slot" });

  const statusBadge = el("span", { className: `status status-${sample.status}` }, label("status", sample.status));

  function showForm() {
    replace(formSlot, buildForm(ctx, data, saved));
  }
  // After a save or a lock: the API's own view of the sample (status, total, lock).
  async function saved(evaluation, notice) {
    data.evaluation = evaluation;
    try {
      const fresh = await get(`/api/qa/samples/${encodeURIComponent(id)}`);
      data.sample = fresh.sample;
      data.evaluation = fresh.evaluation ?? evaluation;
      statusBadge.className = `status status-${fresh.sample.status}`;
      statusBadge.textContent = label("status", fresh.sample.status);
    } catch (error) {
      ctx.showError(error);
    }
    showForm();
    ctx.showNotice(notice);
  }
  showForm();

  replace(
    view,
    el("p", {}, el("a", { href: "#/samples" }, t("back"))),
    el(
      "h2",
      {},
      t("sample.heading", { id: sample.id }),
      " ",
      statusBadge,
    ),
    el(
      "div",
      { className: "sample" },
      el(
        "div",
        { className: "listen" },
        el("section", { className: "call" }, el("h3", {}, t("call.heading")), callFacts(data.call, sample)),
        player.node,
      ),
      el(
        "div",
        { className: "judge" },
        buildChecks(data.checks, player.seek),
        formSlot,
        ctx.isManager ? await buildAssign(ctx, data) : null,
        ctx.isManager && sample.linkedid
          ? el("p", {}, el("a", { href: `#/calibration/${encodeURIComponent(sample.linkedid)}` }, t("nav.calibration")))
          : null,
      ),
    ),
  );
  if (kept && String(kept.id) === String(id)) {
    if (kept.place) player.resume(kept.place);
    restoreDraft(formSlot.querySelector("#scoring"), kept.draft);
  }
  return () => ({
    id,
    place: player.stop(),
    draft: draftOf(formSlot.querySelector("#scoring")),
  });
}
