"""Pure parts of the Asterisk runtime: mirror discovery and template rendering."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from callcenter.asterisk.install import choose_mirror, read_mirror
from callcenter.asterisk.instance import AsteriskRuntimeError, instance_for
from callcenter.asterisk.render import (
    PLACEHOLDER,
    TEMPLATE_DIR,
    refuse_dev_secrets,
    render_text,
    template_values,
)
from callcenter.config import (
    DEV_AMI_SECRET,
    DEV_SIP_PASSWORD,
    AmiConfig,
    AsteriskConfig,
    ConfigError,
    RingConfig,
    RouterConfig,
)

AGI_KEY = "agi-key-0123456789abcdef"

# Placeholder hosts only: no real package host is written in the repo.
DEB822 = """\
Types: deb
# a comment: URIs: http://commented.invalid/debian
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_comes_from_deb822_sources_not_security(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert read_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_sources_list(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://old.example/debian bookworm main\n"
        "deb [signed-by=/k.gpg] http://other.example/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    )
    assert read_mirror(tmp_path) == "http://mirror.example/debian"


def test_disabled_stanzas_and_third_party_repos_are_not_mirrors() -> None:
    assert choose_mirror([("http://vendor.example/apt", ["stable"])]) == (
        "http://vendor.example/apt"
    )
    assert (
        choose_mirror(
            [
                ("http://vendor.example/apt", ["stable"]),
                ("https://mirror.example/debian/", ["bookworm"]),
            ]
        )
        == "https://mirror.example/debian/"
    )
    assert choose_mirror([("cdrom:/media", ["bookworm"])]) is None


def test_no_mirror_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    with pytest.raises(AsteriskRuntimeError, match="no Debian mirror"):
        read_mirror(tmp_path)


def test_render_text_replaces_placeholders_and_leaves_asterisk_variables() -> None:
    text = "port = @AMI_PORT@\nexten => 600,1,Set(X=${EPOCH})\nLocal/1@ctx\n"
    assert render_text(text, {"AMI_PORT": "5038"}) == (
        "port = 5038\nexten => 600,1,Set(X=${EPOCH})\nLocal/1@ctx\n"
    )


def test_render_text_rejects_unknown_placeholders() -> None:
    with pytest.raises(AsteriskRuntimeError, match=r"extensions\.conf: unknown placeholder"):
        render_text("x = @TYPO@", {}, name="extensions.conf")


def _values(**asterisk: object) -> dict[str, str]:
    cfg = AsteriskConfig(
        mode="chroot",
        chroot_dir=Path("/c"),
        instance_name="t",
        **asterisk,  # type: ignore[arg-type]
    )
    instance = instance_for(cfg)
    return template_values(
        cfg,
        AmiConfig(port=15038, secret="s3"),
        RingConfig(),
        instance,
        modules_dir="/usr/lib/x/asterisk/modules",
        router=RouterConfig(agi_port=15073, agi_key=AGI_KEY),
    )


def test_chroot_instance_paths_are_inside_the_chroot() -> None:
    cfg = AsteriskConfig(mode="chroot", chroot_dir=Path("/c"), instance_name="t")
    instance = instance_for(cfg)
    assert instance.recordings_host_dir == Path("/c/srv/callcenter/t/recordings")
    assert instance.recordings_asterisk_dir == PurePosixPath("/srv/callcenter/t/recordings")
    assert instance.command("-rx", "core show version")[:3] == [
        "chroot",
        "/c",
        "/usr/sbin/asterisk",
    ]


def test_values_use_in_asterisk_paths_and_the_ring_budget() -> None:
    values = _values()
    assert values["RECORDINGS_DIR"] == "/srv/callcenter/t/recordings"
    assert values["AMI_PORT"] == "15038"
    assert values["RING_BUDGET"] == "15"  # 3 rings x 5 s


def test_invalid_rtp_range_is_rejected() -> None:
    with pytest.raises(AsteriskRuntimeError, match="RTP range"):
        _values(rtp_start=12000, rtp_end=11000)


def test_every_versioned_template_renders() -> None:
    values = _values()
    templates = sorted(TEMPLATE_DIR.glob("*.conf"))
    assert {"asterisk.conf", "extensions.conf", "manager.conf", "pjsip.conf"} <= {
        t.name for t in templates
    }
    for template in templates:
        rendered = render_text(template.read_text(), values, name=template.name)
        assert PLACEHOLDER.search(rendered) is None, template.name
    manager = render_text((TEMPLATE_DIR / "manager.conf").read_text(), values)
    assert "bindaddr = 127.0.0.1" in manager
    assert "secret = s3" in manager


def test_every_fastagi_url_carries_the_per_install_key() -> None:
    dialplan = render_text((TEMPLATE_DIR / "extensions.conf").read_text(), _values())
    urls = [line for line in dialplan.splitlines() if "agi://" in line]
    assert len(urls) >= 5  # route, callback, connected, survey, callback-result
    for line in urls:
        assert "agi://127.0.0.1:15073/" in line
        assert f"?key={AGI_KEY}," in line, line


def test_the_sip_password_is_rendered_into_pjsip_only() -> None:
    values = _values(sip_password="sip-pass-0123456789")
    rendered = {
        t.name: render_text(t.read_text(), values, name=t.name)
        for t in sorted(TEMPLATE_DIR.glob("*.conf"))
    }
    holding = sorted(name for name, text in rendered.items() if "sip-pass-0123456789" in text)
    assert holding == ["pjsip.conf"]
    assert sorted(name for name, text in rendered.items() if "secret = s3" in text) == [
        "manager.conf"
    ]


@pytest.mark.parametrize(
    ("ami_secret", "sip_password", "agi_key", "named"),
    [
        (DEV_AMI_SECRET, "sip-pass-0123456789", AGI_KEY, "CALLCENTER_AMI_SECRET"),
        ("ami-secret-0123456789", DEV_SIP_PASSWORD, AGI_KEY, "CALLCENTER_SIP_PASSWORD"),
        ("ami-secret-0123456789", "sip-pass-0123456789", "", "CALLCENTER_AGI_KEY"),
    ],
)
def test_rendering_refuses_the_development_defaults(
    ami_secret: str, sip_password: str, agi_key: str, named: str
) -> None:
    with pytest.raises(ConfigError, match=rf"refuses the development default .*{named}"):
        refuse_dev_secrets(
            AsteriskConfig(sip_password=sip_password),
            AmiConfig(secret=ami_secret),
            RouterConfig(agi_key=agi_key),
        )
    refuse_dev_secrets(  # and accepts real ones
        AsteriskConfig(sip_password="sip-pass-0123456789"),
        AmiConfig(secret="ami-secret-0123456789"),
        RouterConfig(agi_key=AGI_KEY),
    )
