"""`callcenter doctor` as an administrator runs it, against the real test Asterisk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.asterisk_fixtures import TestAsterisk

pytestmark = pytest.mark.asterisk


def _env(asterisk: TestAsterisk, db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    where = asterisk.config.asterisk
    env = {
        **{k: v for k, v in os.environ.items() if k != "CALLCENTER_ASR_MODEL"},
        "CALLCENTER_STATE_DIR": str(tmp_path / "state"),
        "CALLCENTER_DB_URL": db_url,
        "CALLCENTER_AMI_PORT": str(asterisk.ami_port),
        "CALLCENTER_AMI_USER": asterisk.ami_user,
        "CALLCENTER_AMI_SECRET": asterisk.ami_secret,
        "CALLCENTER_SIP_PASSWORD": asterisk.sip_password,
        "CALLCENTER_AGI_KEY": asterisk.config.router.agi_key,
        "CALLCENTER_ASTERISK_MODE": where.mode,
        "CALLCENTER_ASTERISK_CHROOT": str(where.chroot_dir),
        "CALLCENTER_ASTERISK_INSTANCE": str(where.instance_dir),
        "CALLCENTER_ASTERISK_INSTANCE_NAME": where.instance_name,
        "CALLCENTER_INBOUND_NUMBER": where.inbound_number,
        # The machine's free disk is not what these tests are about.
        "CALLCENTER_MIN_FREE_MB": "1",
        **extra,
    }
    return env


def _doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter", "doctor", "--timeout", "3", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    parsed = json.loads(result.stdout)
    assert isinstance(parsed, list)
    return {check["name"]: check for check in parsed}


def _line(result: subprocess.CompletedProcess[str], name: str) -> str:
    (line,) = [row for row in result.stdout.splitlines() if row.split()[1:2] == [name]]
    return line


def test_healthy_stack_passes(asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path) -> None:
    result = _doctor(_env(asterisk, migrated_db_url, tmp_path), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = _checks(result)
    assert list(checks) == [
        "asterisk-reachable",
        "ami-login",
        "asterisk-modules",
        "dialplan",
        "asterisk-log",
        "clock",
        "recordings-dir",
        "database",
        "asr-model",
        "secrets",
        "file-modes",
        "web-exposure",
    ]
    statuses = {name: check["status"] for name, check in checks.items()}
    assert statuses == {**{name: "ok" for name in checks}, "asr-model": "skip"}, checks
    assert checks["asr-model"]["ok"] is True
    assert checks["asr-model"]["detail"] == (
        "skipped: no ASR model configured (CALLCENTER_ASR_MODEL)"
    )


def test_plain_output_names_each_check_and_a_present_asr_model_passes(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path
) -> None:
    model = tmp_path / "vosk-model"
    model.mkdir()
    result = _doctor(_env(asterisk, migrated_db_url, tmp_path, CALLCENTER_ASR_MODEL=str(model)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _line(result, "asr-model").startswith("ok ")
    assert result.stdout.splitlines()[-1] == "doctor: 12 ok, 0 failed, 0 skipped"
    missing = _doctor(
        _env(asterisk, migrated_db_url, tmp_path, CALLCENTER_ASR_MODEL=str(tmp_path / "none"))
    )
    assert missing.returncode == 1
    assert _line(missing, "asr-model").startswith("FAIL")


def test_stopped_asterisk_fails_with_the_start_hint(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path
) -> None:
    asterisk.stop()
    try:
        result = _doctor(_env(asterisk, migrated_db_url, tmp_path))
    finally:
        asterisk.start()
    assert result.returncode == 1, result.stdout
    line = _line(result, "asterisk-reachable")
    assert line.startswith("FAIL")
    assert f"127.0.0.1:{asterisk.ami_port}" in line
    assert "fix: start Asterisk (`callcenter asterisk start`)" in line
    assert _line(result, "ami-login").startswith("skip")
    assert _line(result, "database").startswith("ok")
    assert "Traceback" not in result.stderr


def test_wrong_ami_secret_is_an_auth_failure_naming_the_setting(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path
) -> None:
    env = _env(asterisk, migrated_db_url, tmp_path, CALLCENTER_AMI_SECRET="not-the-secret")
    result = _doctor(env, "--json")
    assert result.returncode == 1
    checks = _checks(result)
    login = checks["ami-login"]
    assert login["status"] == "fail"
    assert str(login["detail"]).startswith("auth failed")
    assert "CALLCENTER_AMI_SECRET" in str(login["hint"])
    assert checks["asterisk-reachable"]["status"] == "ok"
    assert checks["asterisk-modules"]["status"] == "skip"
    assert "not-the-secret" not in result.stdout + result.stderr


def test_unmigrated_database_says_migrate(
    asterisk: TestAsterisk, db_url: str, tmp_path: Path
) -> None:
    result = _doctor(_env(asterisk, db_url, tmp_path), "--json")
    assert result.returncode == 1
    checks = _checks(result)
    database = checks["database"]
    assert database["status"] == "fail"
    assert database["hint"] == "run `callcenter migrate`"
    assert [name for name, c in checks.items() if c["status"] == "fail"] == ["database"]


def test_exposure_development_secrets_and_loose_state_are_problems(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)  # as a state directory from before file modes was
    (state / "secrets.env").write_text("CALLCENTER_API_TOKEN=token-0123456789abcdef\n")
    (state / "secrets.env").chmod(0o644)
    env = _env(asterisk, migrated_db_url, tmp_path, CALLCENTER_WEB_HOST="0.0.0.0")
    result = _doctor(env, "--json")
    assert result.returncode == 1
    checks = _checks(result)
    assert checks["web-exposure"]["status"] == "fail"
    assert checks["web-exposure"]["detail"] == (
        "CALLCENTER_WEB_HOST=0.0.0.0 serves plain HTTP beyond this machine"
    )
    assert "CALLCENTER_TLS_PROXY=1" in str(checks["web-exposure"]["hint"])
    assert checks["secrets"]["status"] == "fail"
    assert "(mode 0644)" in str(checks["secrets"]["detail"])
    assert checks["file-modes"]["status"] == "fail"
    assert f"{state} (0755)" in str(checks["file-modes"]["detail"])
    assert "token-0123456789abcdef" not in result.stdout + result.stderr
    behind_tls = _doctor({**env, "CALLCENTER_TLS_PROXY": "1"}, "--json")
    assert _checks(behind_tls)["web-exposure"]["status"] == "ok"
    weak = _doctor({**env, "CALLCENTER_SIP_PASSWORD": "callcenter-dev-sip"}, "--json")
    assert "CALLCENTER_SIP_PASSWORD" in str(_checks(weak)["secrets"]["detail"])
