// The scoring form: the API's items (labels, weights, scale), a comment per item and an
// overall comment. Editable until the evaluation is locked; never pre-filled from the
// automatic checks, only from the inspector's own saved evaluation.
import { post, put } from "./api.js";
import { el, replace } from "./dom.js";
import { errorParts } from "./errors.js";
import { formatDateTime, formatNumber } from "./format.js";
import { language, t } from "./i18n.js";

const RADIO_LIMIT = 11; // wider scales get a number field instead of radio buttons

export function lockState(evaluation, sample) {
  const locked = Boolean(
    (evaluation && (evaluation.locked || evaluation.locked_at)) || (sample && sample.status === "locked"),
  );
  return {
    locked,
    auto: Boolean(evaluation && evaluation.locked_by === "auto"),
    by: (evaluation && evaluation.locked_by) || null,
    at: (evaluation && evaluation.locked_at) || null,
  };
}

function itemLabel(item) {
  return language().startsWith("zh") ? item.label_zh || item.label_en : item.label_en || item.label_zh;
}

function scoreInput(item, scale, value, disabled) {
  const name = `score-${item.key}`;
  if (scale.max - scale.min + 1 > RADIO_LIMIT) {
    return el("input", {
      type: "number",
      name,
      min: scale.min,
      max: scale.max,
      step: 1,
      value: value ?? "",
      disabled,
      "aria-label": itemLabel(item),
    });
  }
  const choices = [];
  for (let score = scale.min; score <= scale.max; score += 1) {
    choices.push(
      el(
        "label",
        { className: "score" },
        el("input", { type: "radio", name, value: score, checked: value === score, disabled }),
        String(score),
      ),
    );
  }
  return el("span", { className: "scores", role: "radiogroup", "aria-label": itemLabel(item) }, choices);
}

function readScore(form, key) {
  const field = form.elements[`score-${key}`];
  if (!field) return null;
  const raw = field.value; // a RadioNodeList's value is the checked radio's
  return raw === "" || raw === undefined ? null : Number.parseInt(raw, 10);
}

export function buildForm(ctx, data, onSaved) {
  const sampleId = data.sample.id;
  const spec = data.form || { items: [], scale: { min: 1, max: 5 } };
  const scale = spec.scale || { min: 1, max: 5 };
  const evaluation = data.evaluation || null;
  const lock = lockState(evaluation, data.sample);
  const editable = data.editable !== false && !lock.locked;
  const scores = (evaluation && evaluation.scores) || {};
  const comments = (evaluation && evaluation.comments) || {};
  const status = el("div", { className: "form-status", role: "alert", hidden: true });

  const rows = spec.items.map((item) =>
    el(
      "tr",
      { dataset: { item: item.key } },
      el("th", { scope: "row" }, itemLabel(item)),
      el("td", { className: "num" }, formatNumber(item.weight)),
      el("td", {}, scoreInput(item, scale, scores[item.key] ?? null, !editable)),
      el(
        "td",
        {},
        el("textarea", {
          name: `comment-${item.key}`,
          rows: 1,
          "aria-label": `${itemLabel(item)} ${t("col.comment")}`,
        }),
      ),
    ),
  );
  const form = el(
    "form",
    { id: "scoring", className: "scoring", novalidate: true },
    el("p", { className: "muted" }, t("form.scale", { min: scale.min, max: scale.max })),
    el(
      "fieldset",
      { disabled: !editable },
      el(
        "table",
        {},
        el(
          "thead",
          {},
          el("tr", {}, [t("col.item"), t("col.weight"), t("col.score"), t("col.comment")].map((h) => el("th", {}, h))),
        ),
        el("tbody", {}, rows),
      ),
      el("label", { className: "overall" }, t("form.overall"), el("textarea", { name: "comment", rows: 3 })),
      el("button", { type: "submit", className: "primary" }, evaluation ? t("form.update") : t("form.submit")),
    ),
    status,
  );
  // Text goes in through .value, never through markup.
  for (const item of spec.items) form.elements[`comment-${item.key}`].value = comments[item.key] ?? "";
  form.elements.comment.value = (evaluation && evaluation.comment) || "";

  function fail(error) {
    replace(status, ...errorParts(error));
    status.className = "form-status error";
    status.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.hidden = true;
    const body = { scores: {}, comments: {}, comment: form.elements.comment.value.trim() };
    const missing = [];
    for (const item of spec.items) {
      const score = readScore(form, item.key);
      if (score === null || Number.isNaN(score)) missing.push(itemLabel(item));
      else body.scores[item.key] = score;
      const comment = form.elements[`comment-${item.key}`].value.trim();
      if (comment) body.comments[item.key] = comment;
    }
    if (missing.length) {
      replace(status, el("strong", {}, t("form.missing")), " ", missing.join(", "));
      status.className = "form-status error";
      status.hidden = false;
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const saved = await put(`/api/qa/samples/${sampleId}/evaluation`, body);
      onSaved(saved.evaluation || saved, t("form.saved"));
    } catch (error) {
      button.disabled = false;
      fail(error);
    }
  });

  const parts = [el("h3", {}, t("form.heading"))];
  if (lock.locked) {
    parts.push(
      el(
        "div",
        { className: "locked", id: "locked" },
        el("strong", {}, t("form.locked")),
        el(
          "div",
          { className: "lock-reason" },
          lock.auto
            ? t("form.autoLocked", { when: formatDateTime(lock.at) })
            : t("form.lockedBy", { who: lock.by || "–", when: formatDateTime(lock.at) }),
        ),
      ),
    );
  } else if (data.editable === false) {
    parts.push(el("p", { className: "muted" }, t("form.notYours")));
  }
  parts.push(form);
  if (evaluation && evaluation.total !== undefined && evaluation.total !== null) {
    parts.push(el("p", { className: "total" }, t("form.total", { total: formatNumber(evaluation.total) })));
  }
  if (ctx.isManager && evaluation && evaluation.id && !lock.locked) {
    const lockButton = el("button", { type: "button", id: "lock" }, t("form.lock"));
    lockButton.addEventListener("click", async () => {
      lockButton.disabled = true;
      try {
        const locked = await post(`/api/qa/evaluations/${evaluation.id}/lock`, {});
        onSaved(locked.evaluation || locked, t("form.lockDone"));
      } catch (error) {
        lockButton.disabled = false;
        fail(error);
      }
    });
    parts.push(lockButton);
  }
  return el("section", { className: "form" }, parts);
}
