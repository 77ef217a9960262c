// An API refusal (`{"error_id","message","details"}`) or a network failure, as page content.
import { ApiFailure } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";

export function errorParts(error) {
  const failure =
    error instanceof ApiFailure
      ? error
      : { errorId: "network", message: t("error.network"), details: { cause: String(error) } };
  const details = Object.entries(failure.details || {}).map(([name, value]) =>
    el(
      "li",
      {},
      el("code", {}, name),
      ": ",
      typeof value === "object" && value !== null ? JSON.stringify(value) : String(value),
    ),
  );
  return [
    el("strong", {}, t("error.heading"), " "),
    el("code", { className: "error-id" }, failure.errorId),
    " ",
    el("span", { className: "error-message" }, failure.message),
    details.length ? el("ul", { className: "error-details" }, details) : null,
  ];
}
