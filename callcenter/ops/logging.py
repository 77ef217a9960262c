"""Log output for `callcenter`: plain or JSON lines, phone numbers masked, secrets redacted.

Call sites add context with `extra={"linkedid": ..., "agent": ...}`; both
formats show those fields. Masking runs in a filter on our handler, so it
covers every record that reaches the output, whichever logger emitted it,
including exception tracebacks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any, Literal, TextIO
from urllib.parse import quote

LogFormat = Literal["plain", "json"]

# Fields a log call may pass through `extra=`, in output order.
CONTEXT_FIELDS = ("linkedid", "agent")

REDACTED = "***"

# Phone numbers as people and programs write them (issue 19): plain runs of 7+ digits,
# international ones after "+" with any grouping (`+86 139 1234 5678`, `+1.415.555.0100`,
# `+44 (0)20 7946 0958`), national ones grouped by spaces or dashes (`139-1234-5678`,
# `0755 1234 5678`), with the area code in parentheses (`(010) 1234-5678`), or dotted the
# North American way (`415.555.0100`). URL-encoded text (`%2B86%20139...`) is read through
# its escapes. Not phone numbers: what touches a letter, a dot or a digit on the left (hex
# ids, the epoch part of `1733240000.123`), decimals (`1795426742.524522`), ports and
# short counts (under 7 digits), dates and times (`2026-12-03`, `10:00:00`, groups of 2),
# IPv4 addresses (no 4-digit group), a channel's sequence number (`PJSIP/2001-00000012`)
# and bare epoch seconds or milliseconds (10 or 13 digits starting with 1: no North
# American number starts with 1, a Chinese mobile has 11 digits).
_PHONE = re.compile(
    r"""
    (?<![A-Za-z0-9_.])
    (?:
        (?P<intl>\+\d{1,4}(?:[\ .\-]?(?:\(\d{1,4}\)|\d{1,8})){1,6})
      | (?P<paren>\(\d{2,5}\)[\ \-]?\d{3,4}[\ \-]?\d{4})
      | (?P<dotted>\d{3}\.\d{3}\.\d{4})
      | (?P<grouped>\d{2,4}(?:[\ \-]\d{3,4}){0,2}[\ \-]\d{4,8})
      | (?P<plain>\d{7,})
    )
    (?![A-Za-z0-9_]|\.\d)
    """,
    re.VERBOSE,
)
# Digits a number of each kind has (international: E.164's 15 at most).
_DIGITS_PER_KIND = {"intl": (7, 15), "paren": (9, 13), "dotted": (10, 10), "grouped": (9, 13)}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# `scheme://user:password@host`: the password of any URL, configured or not.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)([^@\s/]+)(@)")

_HANDLER_MARK = "_callcenter_handler"


def mask_phone_numbers(text: str) -> str:
    """`+8613800138000` -> `+*********8000`, `139-1234-5678` -> `***-****-5678`: every
    digit of a phone number but its last four is masked, separators stay."""
    if "%" in text and _ESCAPE.search(text):
        return _mask_encoded(text)
    return _mask_plain(text)


def _mask_plain(text: str) -> str:
    return _PHONE.sub(lambda match: _masked(match, text), text)


def _masked(match: re.Match[str], text: str) -> str:
    number = match.group(0)
    kind = match.lastgroup or "plain"
    digits = sum(ch.isdigit() for ch in number)
    if kind == "plain":
        start = match.start()
        if len(number) == 8 and start > 0 and text[start - 1] == "-":
            return number  # a channel's sequence number: PJSIP/2001-00000012
        if len(number) in (10, 13) and number[0] == "1":
            return number  # epoch seconds or milliseconds
        return _hide(number)
    low, high = _DIGITS_PER_KIND[kind]
    if digits > high and kind in ("intl", "grouped"):
        # The grouping ran into what follows (`+8613800138000 15038`): the number is the
        # groups that fit, the rest is scanned on its own.
        cut = _cut_after(number, high)
        if cut == 0:
            return _hide(number)  # one run of digits, longer than any number: masked
        head, rest = number[:cut], number[cut:]
        return _checked(head, kind, low, high) + _mask_plain(rest)
    return _checked(number, kind, low, high)


def _checked(number: str, kind: str, low: int, high: int) -> str:
    if not low <= sum(ch.isdigit() for ch in number) <= high:
        return number
    if kind == "grouped":
        groups = re.split(r"[ \-]", number)
        if len(groups) == 2 and "-" in number and len(groups[1]) == 8 and groups[1][0] == "0":
            return number  # a channel: `2001-00000012`
    return _hide(number)


def _cut_after(number: str, most: int) -> int:
    """Where the last whole group ends that keeps at most `most` digits."""
    seen = 0
    cut = 0
    for i, ch in enumerate(number):
        if ch.isdigit():
            seen += 1
            if seen > most:
                break
            if i + 1 == len(number) or not number[i + 1].isdigit():
                cut = i + 1
    return cut


def _hide(number: str) -> str:
    """Every digit but the last four becomes `*`; `+`, spaces, dashes, parentheses stay."""
    keep = 4
    out = []
    for ch in reversed(number):
        if ch.isdigit():
            if keep:
                keep -= 1
            else:
                ch = "*"
        out.append(ch)
    return "".join(reversed(out))


def _mask_encoded(text: str) -> str:
    """Mask a URL-encoded text as read: `%2B` is a plus, `%20` a space, `%3A` a colon."""
    units: list[str] = []  # the text in units: one character or one %XX escape each
    decoded: list[str] = []
    position = 0
    for escape in _ESCAPE.finditer(text):
        for ch in text[position : escape.start()]:
            units.append(ch)
            decoded.append(ch)
        code = int(escape.group(1), 16)
        units.append(escape.group(0))
        decoded.append(chr(code) if 0x20 <= code < 0x7F else "\ufffd")
        position = escape.end()
    for ch in text[position:]:
        units.append(ch)
        decoded.append(ch)
    plain = "".join(decoded)
    masked = _mask_plain(plain)
    # Masking only turns digits into "*", so the decoded and the masked text align.
    return "".join(
        "*" if new == "*" and old != "*" else unit
        for unit, old, new in zip(units, plain, masked, strict=True)
    )


class Redactor:
    """Removes secrets from text: the given literals and every URL password."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if secret:
                variants.add(secret)
                variants.add(quote(secret, safe=""))  # as it appears inside a URL
        # Longest first, so a secret that contains another is removed whole.
        self._secrets = sorted(variants, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}\3", text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def clean(text: str, redact: Redactor) -> str:
    # Secrets first: a numeric secret must go whole, not just its leading digits.
    return mask_phone_numbers(redact(text))


class SanitizingFilter(logging.Filter):
    """Rewrites each record in place: final message, context fields and traceback cleaned."""

    def __init__(self, redactor: Redactor, formatter: logging.Formatter) -> None:
        super().__init__()
        self._redact = redactor
        self._formatter = formatter

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A malformed call (`%d` with a str): the handler's emit reports it
            # through handleError, as logging does without this filter.
            return True
        record.msg = clean(message, self._redact)
        record.args = None
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                setattr(record, name, clean(str(value), self._redact))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = clean(record.exc_text, self._redact)
        if record.stack_info:
            record.stack_info = clean(record.stack_info, self._redact)
        return True


def _context(record: logging.LogRecord) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            fields[name] = str(value)
    return fields


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        context = _context(record)
        if context:
            line += " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, context."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    format: LogFormat | str,
    level: int,
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install the root handler (replacing one installed earlier by this function).

    `secrets` are literal values to redact (the AMI secret, the database
    password); passwords inside URLs are redacted whether listed or not.
    """
    if format not in ("plain", "json"):
        raise ValueError(f"log format must be plain or json, got {format!r}")
    formatter: logging.Formatter = JsonFormatter() if format == "json" else PlainFormatter()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(SanitizingFilter(Redactor(secrets), formatter))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def config_secrets(ami_secret: str, database_url: str) -> list[str]:
    """The literal secrets of a configuration: the AMI secret and the database password."""
    secrets = [ami_secret]
    try:
        from sqlalchemy.engine import make_url

        password = make_url(database_url).password
    except Exception:
        password = None
    if password:
        secrets.append(str(password))
    return secrets
