"""Account settings from the environment, and the login redirect guard."""

from __future__ import annotations

import pytest

from callcenter import config as config_module
from callcenter.accounts.http import safe_next
from callcenter.config import ConfigError


@pytest.mark.parametrize(
    ("environ", "secure"),
    [
        ({}, False),  # default web host 127.0.0.1: plain HTTP on loopback works
        ({"CALLCENTER_WEB_HOST": "::1"}, False),
        ({"CALLCENTER_WEB_HOST": "0.0.0.0"}, True),  # reachable from others: Secure
        ({"CALLCENTER_WEB_HOST": "0.0.0.0", "CALLCENTER_COOKIE_SECURE": "0"}, False),
        ({"CALLCENTER_COOKIE_SECURE": "1"}, True),  # loopback behind a TLS proxy
    ],
)
def test_secure_cookie_default_follows_the_web_host(environ: dict[str, str], secure: bool) -> None:
    assert config_module.load(environ).auth.cookie_secure is secure


def test_session_and_throttle_settings() -> None:
    auth = config_module.load(
        {
            "CALLCENTER_SESSION_IDLE_MINUTES": "30",
            "CALLCENTER_SESSION_MAX_HOURS": "8",
            "CALLCENTER_LOGIN_MAX_FAILURES": "3",
            "CALLCENTER_LOGIN_LOCKOUT_SECONDS": "5",
        }
    ).auth
    assert (auth.session_idle, auth.session_max) == (1800.0, 8 * 3600.0)
    assert (auth.login_max_failures, auth.login_lockout) == (3, 5.0)


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"CALLCENTER_COOKIE_SECURE": "maybe"}, "CALLCENTER_COOKIE_SECURE"),
        ({"CALLCENTER_PASSWORD_MIN_LENGTH": "4"}, "CALLCENTER_PASSWORD_MIN_LENGTH"),
        ({"CALLCENTER_LOGIN_MAX_FAILURES": "0"}, "CALLCENTER_LOGIN_MAX_FAILURES"),
        ({"CALLCENTER_SESSION_IDLE_MINUTES": "-1"}, "CALLCENTER_SESSION_IDLE_MINUTES"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        config_module.load(environ)


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        ("/dashboard", "/dashboard"),
        ("/qa?sample=3", "/qa?sample=3"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/login?next=/login", "/"),
        ("/panel\r\nSet-Cookie: x=1", "/"),
        (None, "/"),
        ("", "/"),
    ],
)
def test_next_is_only_a_path_on_this_site(raw: str | None, target: str) -> None:
    assert safe_next(raw) == target
