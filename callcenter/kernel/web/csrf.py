"""CSRF decisions (synchronizer token). Pure: the web layer gathers the inputs.

A request authenticated by the session cookie that changes state (POST, PUT,
PATCH, DELETE) must carry the session's token, in the `X-CSRF-Token` header
(pages' scripts) or the `csrf_token` form field (plain HTML forms). A browser
attaches cookies to a forged cross-site request but the forging page cannot
read the token. Bearer-token requests are exempt: a browser never adds an
Authorization header by itself.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "X-CSRF-Token"
FORM_FIELD = "csrf_token"


@dataclass(frozen=True)
class CsrfVerdict:
    ok: bool
    reason: str = ""  # why it was refused, for the error message


def needs_token(method: str, via: str) -> bool:
    return method.upper() not in SAFE_METHODS and via == "session"


def check(method: str, via: str, expected: str | None, offered: str | None) -> CsrfVerdict:
    if not needs_token(method, via):
        return CsrfVerdict(True)
    if not offered:
        return CsrfVerdict(
            False,
            f"this {method.upper()} needs the CSRF token: send the {HEADER} header"
            f" (from GET /api/me) or the {FORM_FIELD} form field",
        )
    if not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
        return CsrfVerdict(False, "the CSRF token does not match this session: reload the page")
    return CsrfVerdict(True)


def check_double_submit(cookie: str | None, field: str | None) -> CsrfVerdict:
    """The login form before any session exists: the form field must echo the
    SameSite=Strict pre-session cookie set with the form, which a cross-site
    form post does not carry."""
    if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
        return CsrfVerdict(False, "the login form has expired: reload the page and try again")
    return CsrfVerdict(True)
