"""Beyond loopback: who may read /readyz and /metrics, and what `doctor` says about it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from callcenter.config import AuthConfig, Config, WebConfig
from callcenter.ops.doctor import (
    CheckStatus,
    evaluate_exposure,
    evaluate_file_modes,
    evaluate_secrets,
)
from callcenter.ops.http import may_read_ops


def _config(host: str, *, trust_proxy: bool = False) -> Config:
    return dataclasses.replace(
        Config(),
        web=WebConfig(host=host),
        auth=AuthConfig(trust_forwarded_for=trust_proxy),
    )


@pytest.mark.parametrize(
    ("host", "remote", "token", "allowed"),
    [
        ("127.0.0.1", "127.0.0.1", False, True),
        ("0.0.0.0", "127.0.0.1", False, True),
        ("0.0.0.0", "::1", False, True),
        ("0.0.0.0", "10.1.2.3", False, False),
        ("0.0.0.0", "10.1.2.3", True, True),
        ("192.168.1.10", "192.168.1.20", False, False),
        ("192.168.1.10", None, False, False),
    ],
)
def test_beyond_loopback_only_loopback_clients_and_the_token_read_ops(
    host: str, remote: str | None, token: bool, allowed: bool
) -> None:
    assert may_read_ops(_config(host), remote, "", token) is allowed


def test_a_trusted_proxy_forwarding_an_outsider_is_an_outsider_even_on_loopback() -> None:
    config = _config("127.0.0.1", trust_proxy=True)
    assert not may_read_ops(config, "127.0.0.1", "203.0.113.9", token=False)
    assert may_read_ops(config, "127.0.0.1", "203.0.113.9", token=True)
    assert may_read_ops(config, "127.0.0.1", "", token=False)  # the proxy host itself
    # Untrusted, the header is ignored (anyone can send it).
    assert not may_read_ops(_config("0.0.0.0"), "10.0.0.1", "127.0.0.1", token=False)


def test_doctor_reports_a_plain_http_host_beyond_loopback() -> None:
    exposed = evaluate_exposure("0.0.0.0", tls_proxy=False)
    assert exposed.status is CheckStatus.FAIL
    assert "CALLCENTER_WEB_HOST=0.0.0.0 serves plain HTTP" in exposed.detail
    assert "CALLCENTER_TLS_PROXY=1" in exposed.hint
    assert evaluate_exposure("0.0.0.0", tls_proxy=True).status is CheckStatus.OK
    assert evaluate_exposure("127.0.0.1", tls_proxy=False).status is CheckStatus.OK


def test_doctor_reports_development_secrets_and_a_readable_secrets_file() -> None:
    path = Path("/state/secrets.env")
    weak = evaluate_secrets(["CALLCENTER_AMI_SECRET"], path, 0o100600)
    assert weak.status is CheckStatus.FAIL and "CALLCENTER_AMI_SECRET" in weak.detail
    loose = evaluate_secrets([], path, 0o100644)
    assert loose.status is CheckStatus.FAIL
    assert loose.detail == "/state/secrets.env is readable by others (mode 0644)"
    assert loose.hint == "chmod 600 /state/secrets.env"
    assert evaluate_secrets([], path, 0o100600).status is CheckStatus.OK
    assert evaluate_secrets([], path, None).status is CheckStatus.OK  # all from the environment


def test_doctor_lists_state_paths_open_to_others() -> None:
    ok = evaluate_file_modes([(Path("/s"), 0o40700), (Path("/s/db"), 0o100600)])
    assert ok.status is CheckStatus.OK
    bad = evaluate_file_modes(
        [(Path("/s"), 0o40755), (Path("/s/db"), 0o100600), (Path("/s/cel.jsonl"), 0o100644)]
    )
    assert bad.status is CheckStatus.FAIL
    assert bad.detail == "open to other users: /s (0755), /s/cel.jsonl (0644)"
