"""Per-install secrets: generated once, private, read by `load`, development defaults refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from callcenter import config as config_mod
from callcenter.config import (
    DEV_AMI_SECRET,
    DEV_SIP_PASSWORD,
    SECRET_VARIABLES,
    ConfigError,
    dev_secrets_in_use,
    ensure_secrets,
    is_loopback,
    read_secrets,
    require_secrets,
    with_install_secrets,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_setup_writes_four_random_secrets_0600_in_a_0700_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = ensure_secrets(state)
    assert path == state / "secrets.env"
    assert (_mode(state), _mode(path)) == (0o700, 0o600)
    values = read_secrets(path)
    assert sorted(values) == sorted(SECRET_VARIABLES)
    assert len(set(values.values())) == 4
    assert all(len(v) >= 40 for v in values.values())
    assert DEV_AMI_SECRET not in path.read_text()
    other = read_secrets(ensure_secrets(tmp_path / "other"))
    assert set(other.values()).isdisjoint(values.values())  # per install, not per release


def test_a_second_setup_keeps_the_secrets_and_adds_only_missing_ones(tmp_path: Path) -> None:
    path = ensure_secrets(tmp_path)
    first = read_secrets(path)
    assert read_secrets(ensure_secrets(tmp_path)) == first
    # A file from before the AGI key: the other values stay, the key is added.
    path.write_text("".join(f"{k}={v}\n" for k, v in first.items() if k != "CALLCENTER_AGI_KEY"))
    path.chmod(0o644)
    again = read_secrets(ensure_secrets(tmp_path))
    assert {k: again[k] for k in first if k != "CALLCENTER_AGI_KEY"} == {
        k: v for k, v in first.items() if k != "CALLCENTER_AGI_KEY"
    }
    assert again["CALLCENTER_AGI_KEY"] and _mode(path) == 0o600


def test_an_existing_api_token_file_keeps_its_token(tmp_path: Path) -> None:
    (tmp_path / "api-token").write_text("legacy-token-0123456789\n")
    secrets = read_secrets(ensure_secrets(tmp_path))
    assert secrets["CALLCENTER_API_TOKEN"] == "legacy-token-0123456789"


def test_a_loose_state_dir_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    ensure_secrets(state)
    assert _mode(state) == 0o700


def test_load_reads_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    secrets = read_secrets(ensure_secrets(tmp_path))
    env = {"CALLCENTER_STATE_DIR": str(tmp_path)}
    loaded = config_mod.load(env)
    assert loaded.ami.secret == secrets["CALLCENTER_AMI_SECRET"]
    assert loaded.asterisk.sip_password == secrets["CALLCENTER_SIP_PASSWORD"]
    assert loaded.web.api_token == secrets["CALLCENTER_API_TOKEN"]
    assert loaded.router.agi_key == secrets["CALLCENTER_AGI_KEY"]
    assert dev_secrets_in_use(loaded) == []
    require_secrets(loaded, what="test")  # does not raise
    mine = config_mod.load({**env, "CALLCENTER_AMI_SECRET": "from-the-environment"})
    assert mine.ami.secret == "from-the-environment"
    assert mine.router.agi_key == secrets["CALLCENTER_AGI_KEY"]


def test_without_a_file_the_development_defaults_are_refused(tmp_path: Path) -> None:
    loaded = config_mod.load({"CALLCENTER_STATE_DIR": str(tmp_path)})
    assert (loaded.ami.secret, loaded.asterisk.sip_password) == (DEV_AMI_SECRET, DEV_SIP_PASSWORD)
    assert dev_secrets_in_use(loaded) == [
        "CALLCENTER_AMI_SECRET",
        "CALLCENTER_SIP_PASSWORD",
        "CALLCENTER_AGI_KEY",
    ]
    with pytest.raises(ConfigError, match=r"callcenter serve refuses .*CALLCENTER_AMI_SECRET"):
        require_secrets(loaded, what="callcenter serve")
    explicit = config_mod.load(
        {"CALLCENTER_STATE_DIR": str(tmp_path), "CALLCENTER_SIP_PASSWORD": DEV_SIP_PASSWORD}
    )
    assert "CALLCENTER_SIP_PASSWORD" in dev_secrets_in_use(explicit)


def test_with_install_secrets_creates_the_file_then_loads_it(tmp_path: Path) -> None:
    loaded = with_install_secrets({"CALLCENTER_STATE_DIR": str(tmp_path / "s")})
    assert dev_secrets_in_use(loaded) == []
    assert loaded.secrets_path == tmp_path / "s" / "secrets.env"
    assert _mode(loaded.secrets_path) == 0o600


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("CALLCENTER_AMI_SECRET", "expected NAME=value"),
        ("CALLCENTER_DB_URL=postgresql://x", "expected NAME=value"),
    ],
)
def test_a_malformed_secrets_file_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "secrets.env").write_text(f"# comment\n\n{line}\n")
    with pytest.raises(ConfigError, match=rf"secrets\.env:3: {message}"):
        config_mod.load({"CALLCENTER_STATE_DIR": str(tmp_path)})


@pytest.mark.parametrize("bad", ["short", "has space in it", "semi;colon-secret", "comma,key-0123"])
def test_a_secret_that_would_break_the_config_or_the_agi_url_is_refused(
    tmp_path: Path, bad: str
) -> None:
    env = {"CALLCENTER_STATE_DIR": str(tmp_path), "CALLCENTER_AGI_KEY": bad}
    with pytest.raises(ConfigError, match="CALLCENTER_AGI_KEY must be 8-256 characters"):
        config_mod.load(env)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("callcenter.example", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_tls_proxy_flag_and_the_secure_cookie_default(tmp_path: Path) -> None:
    env = {"CALLCENTER_STATE_DIR": str(tmp_path), "CALLCENTER_WEB_HOST": "0.0.0.0"}
    exposed = config_mod.load(env)
    assert (exposed.web.loopback, exposed.web.tls_proxy, exposed.auth.cookie_secure) == (
        False,
        False,
        True,
    )
    assert config_mod.load({**env, "CALLCENTER_TLS_PROXY": "1"}).web.tls_proxy is True
    with pytest.raises(ConfigError, match="CALLCENTER_TLS_PROXY must be 1 or 0"):
        config_mod.load({**env, "CALLCENTER_TLS_PROXY": "maybe"})
    local = config_mod.load({"CALLCENTER_STATE_DIR": str(tmp_path), "CALLCENTER_WEB_HOST": "::1"})
    assert local.web.loopback and not local.auth.cookie_secure
