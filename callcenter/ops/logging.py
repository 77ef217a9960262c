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

# A run of 7+ digits, optionally after "+", that is not part of a longer word
# (hex ids) nor of a decimal number (Asterisk uniqueids and linkedids are
# `<epoch>.<sequence>`, epoch floats). Channel sequence numbers
# ("PJSIP/2001-00000012") are let through in `mask_phone_numbers`.
_PHONE = re.compile(r"(?<![A-Za-z0-9_.])\+?\d{7,}(?![A-Za-z0-9_]|\.\d)")
# `scheme://user:password@host`: the password of any URL, configured or not.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)([^@\s/]+)(@)")

_HANDLER_MARK = "_callcenter_handler"


def mask_phone_numbers(text: str) -> str:
    """`+8613800138000` -> `+*********8000`: keep the last four digits of each number."""

    def mask(match: re.Match[str]) -> str:
        number = match.group(0)
        start = match.start()
        if len(number) == 8 and start > 0 and text[start - 1] == "-":
            return number  # a channel's sequence number: PJSIP/2001-00000012
        plus = "+" if number.startswith("+") else ""
        digits = number[len(plus) :]
        return plus + "*" * (len(digits) - 4) + digits[-4:]

    return _PHONE.sub(mask, text)


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
