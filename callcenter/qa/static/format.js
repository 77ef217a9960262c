// Dates and durations in the chosen language. The API gives times as epoch seconds
// (or ISO strings); both are accepted.
import { language, t } from "./i18n.js";

export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return new Date(value * 1000);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : new Date(parsed);
}

export function formatDate(value) {
  const date = toDate(value);
  if (!date) return value ? String(value) : "–";
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium" }).format(date);
}

export function formatDateTime(value) {
  const date = toDate(value);
  if (!date) return value ? String(value) : "–";
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium", timeStyle: "short" }).format(
    date,
  );
}

export function formatSeconds(value) {
  if (value === null || value === undefined) return "–";
  return t("seconds", { n: Math.round(Number(value)) });
}

export function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || value === "") return "–";
  const number = Number(value);
  if (Number.isNaN(number)) return String(value);
  return new Intl.NumberFormat(language(), { maximumFractionDigits: digits }).format(number);
}
