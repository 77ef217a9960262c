"""The CSRF decision: which requests need the token, and what counts as carrying it."""

from __future__ import annotations

import pytest

from callcenter.kernel.web import csrf


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "get"])
def test_safe_methods_never_need_a_token(method: str) -> None:
    assert csrf.check(method, "session", "expected", None).ok


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_methods_by_cookie_need_the_sessions_token(method: str) -> None:
    missing = csrf.check(method, "session", "expected", None)
    assert not missing.ok and "X-CSRF-Token" in missing.reason
    wrong = csrf.check(method, "session", "expected", "guessed")
    assert not wrong.ok and "does not match" in wrong.reason
    assert csrf.check(method, "session", "expected", "expected").ok


def test_a_session_without_a_token_cannot_be_satisfied() -> None:
    assert not csrf.check("POST", "session", None, "anything").ok
    assert not csrf.check("POST", "session", "", "").ok


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_bearer_token_requests_are_exempt(method: str) -> None:
    assert csrf.check(method, "token", None, None).ok


def test_login_form_double_submit() -> None:
    assert csrf.check_double_submit("abc" * 11, "abc" * 11).ok
    assert not csrf.check_double_submit(None, "abc").ok  # cross-site post: no cookie
    assert not csrf.check_double_submit("abc", None).ok
    assert not csrf.check_double_submit("abc", "abd").ok
