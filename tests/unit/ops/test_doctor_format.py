"""The doctor's pure parts: evaluations of what the checks saw, and the output."""

from __future__ import annotations

import json
from pathlib import Path

from callcenter import config as config_mod
from callcenter.ops.doctor import (
    MIB,
    CheckStatus,
    check_recordings_dir,
    evaluate_asr_model,
    evaluate_asterisk_log,
    evaluate_clock,
    evaluate_database,
    evaluate_dialplan,
    evaluate_disk,
    evaluate_modules,
    exit_status,
    failed,
    format_json,
    format_plain,
    log_problems_since_boot,
    passed,
    skipped,
)

# `Output` headers of `dialplan show 600@from-callers` on the project's Asterisk 22.
DIALPLAN_OUTPUT = [
    "[ Context 'from-callers' created by 'pbx_config' ]",
    "  '600' =>          1. NoOp(inbound call from ${CALLERID(num)})   [extensions.conf:27]",
    "                    2. Set(__CC_RECDAY=${STRFTIME(${EPOCH},,%Y/%m/%d)}) [extensions.conf:30]",
    "",
    "-= 1 extension (17 priorities) in 1 context. =-",
]

T = 1_795_426_742.5  # 2026


def test_dialplan_with_the_inbound_extension_passes() -> None:
    result = evaluate_dialplan(DIALPLAN_OUTPUT, "600", "from-callers")
    assert result.status is CheckStatus.OK


def test_dialplan_without_the_extension_fails_with_a_hint() -> None:
    for output in (None, ["[ Context 'from-callers' created by 'pbx_config' ]", ""]):
        result = evaluate_dialplan(output, "600", "from-callers")
        assert result.status is CheckStatus.FAIL
        assert "600" in result.detail and "from-callers" in result.detail
        assert "CALLCENTER_INBOUND_NUMBER" in result.hint


def test_only_warnings_since_the_last_boot_count() -> None:
    lines = [
        "[2026-11-23 09:00:00.100] Asterisk 22.10.1 built by nobody",
        "[2026-11-23 09:00:00.200] WARNING[10] config.c: old warning, before a restart",
        "[2026-11-23 09:39:02.137] Asterisk 22.10.1 built by nobody",
        "[2026-11-23 09:39:02.166] NOTICE[2895] loader.c: 64 modules will be loaded.",
        "[2026-11-23 09:39:02.300] WARNING[2895][C-00000001] pbx.c: bad priority",
        "[2026-11-23 09:39:02.400] ERROR[2895] res_pjsip.c: no transport",
        "a continuation line mentioning WARNING[",
    ]
    problems = log_problems_since_boot(lines)
    assert [p.split("] ", 1)[1].split("[")[0] for p in problems] == ["WARNING", "ERROR"]
    result = evaluate_asterisk_log(problems, Path("/x/messages.log"))
    assert result.status is CheckStatus.FAIL
    assert result.detail.startswith("2 warning/error lines")
    assert "/x/messages.log" in result.hint
    clean = log_problems_since_boot(lines[2:4])
    assert evaluate_asterisk_log(clean, Path("/x")).status is CheckStatus.OK


def test_missing_modules_are_named() -> None:
    assert evaluate_modules([], {}).status is CheckStatus.OK
    result = evaluate_modules(["res_agi", "app_queue"], {})
    assert result.status is CheckStatus.FAIL
    assert result.detail == "not loaded: res_agi, app_queue"
    assert "modules.conf" in result.hint
    unknown = evaluate_modules([], {"res_agi": "ModuleCheck: no response within 5.0s"})
    assert unknown.status is CheckStatus.FAIL


def test_clock_within_a_few_seconds_passes() -> None:
    assert evaluate_clock(T, T + 0.01, T + 1.0).status is CheckStatus.OK
    assert evaluate_clock(T, T + 0.01, T - 4.0).status is CheckStatus.OK


def test_clock_skew_or_a_year_before_2024_fails() -> None:
    skewed = evaluate_clock(T, T + 0.01, T + 30.0)
    assert skewed.status is CheckStatus.FAIL
    assert "+30.0s" in skewed.detail and "NTP" in skewed.hint
    epoch_zero = 86_400.0  # 1970: a board without a battery-backed clock
    assert evaluate_clock(epoch_zero, epoch_zero, epoch_zero).status is CheckStatus.FAIL
    assert evaluate_clock(T, T, epoch_zero).status is CheckStatus.FAIL


def test_clock_without_asterisk_checks_only_the_local_year() -> None:
    assert evaluate_clock(T, T, None).status is CheckStatus.SKIP


def test_disk_below_the_minimum_fails_naming_the_setting() -> None:
    assert evaluate_disk(Path("/rec"), 2048 * MIB, 1024).status is CheckStatus.OK
    low = evaluate_disk(Path("/rec"), 100 * MIB, 1024)
    assert low.status is CheckStatus.FAIL
    assert "100 MiB free" in low.detail and "CALLCENTER_MIN_FREE_MB" in low.hint


def test_recordings_dir_checked_on_a_real_directory(tmp_path: Path) -> None:
    assert check_recordings_dir(tmp_path, 0).status is CheckStatus.OK
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
    missing = check_recordings_dir(tmp_path / "nope", 0)
    assert missing.status is CheckStatus.FAIL and "does not exist" in missing.detail
    huge = check_recordings_dir(tmp_path, 2**40)
    assert huge.status is CheckStatus.FAIL


def test_database_behind_head_says_migrate() -> None:
    assert evaluate_database("sqlite:///x", "abc", "abc").status is CheckStatus.OK
    never = evaluate_database("sqlite:///x", None, "abc")
    assert never.status is CheckStatus.FAIL
    assert "not migrated" in never.detail and never.hint == "run `callcenter migrate`"
    behind = evaluate_database("sqlite:///x", "old", "abc")
    assert "at revision old, head is abc" in behind.detail


def test_no_asr_model_configured_is_skipped_not_failed() -> None:
    none = evaluate_asr_model(None, False)
    assert none.status is CheckStatus.SKIP and none.ok
    assert none.detail == "skipped: no ASR model configured (CALLCENTER_ASR_MODEL)"
    missing = evaluate_asr_model(Path("/models/vosk-cn"), False)
    assert missing.status is CheckStatus.FAIL and not missing.ok
    assert evaluate_asr_model(Path("/models/vosk-cn"), True).status is CheckStatus.OK


def test_asr_model_and_min_free_come_from_the_environment() -> None:
    default = config_mod.load({})
    assert default.asr_model_path is None and default.ops.min_free_mb == 1024
    set_ = config_mod.load({"CALLCENTER_ASR_MODEL": "/m/vosk", "CALLCENTER_MIN_FREE_MB": "10"})
    assert set_.asr_model_path == Path("/m/vosk") and set_.ops.min_free_mb == 10


RESULTS = [
    passed("asterisk-reachable", "AMI port 127.0.0.1:5038 accepts connections"),
    failed("ami-login", "auth failed", "set CALLCENTER_AMI_SECRET"),
    skipped("asr-model", "no ASR model configured"),
]


def test_plain_output_is_one_line_per_check_with_hints_on_failures() -> None:
    lines = format_plain(RESULTS).splitlines()
    assert lines == [
        "ok    asterisk-reachable  AMI port 127.0.0.1:5038 accepts connections",
        "FAIL  ami-login           auth failed; fix: set CALLCENTER_AMI_SECRET",
        "skip  asr-model           skipped: no ASR model configured",
        "doctor: 1 ok, 1 failed, 1 skipped",
    ]


def test_json_output_is_a_list_of_checks() -> None:
    parsed = json.loads(format_json(RESULTS))
    assert [c["name"] for c in parsed] == ["asterisk-reachable", "ami-login", "asr-model"]
    assert parsed[1] == {
        "name": "ami-login",
        "status": "fail",
        "ok": False,
        "detail": "auth failed",
        "hint": "set CALLCENTER_AMI_SECRET",
    }


def test_any_failure_makes_the_exit_status_non_zero() -> None:
    assert exit_status(RESULTS) == 1
    assert exit_status([RESULTS[0], RESULTS[2]]) == 0


def test_router_unreachable_lines_are_counted_apart_from_configuration_problems() -> None:
    from callcenter.ops.doctor import log_problems_since_boot, router_fallbacks

    lines = [
        "[2026-11-23 12:00:00.000] NOTICE[1] asterisk.c: Asterisk 22.10.1 ready",
        "[2026-11-23 12:00:00.000] Asterisk 22.10.1 built",
        "[2026-11-23 12:00:01.000] WARNING[2][C-1] res_agi.c: Connecting to '127.0.0.1:4573'"
        " failed for url 'agi://127.0.0.1:4573/route': Connection refused",
        "[2026-11-23 12:00:02.000] WARNING[2][C-2] res_agi.c: Connecting to '127.0.0.1:4573'"
        " failed for url 'agi://127.0.0.1:4573/route': Connection refused",
        "[2026-11-23 12:00:02.000] WARNING[2][C-2] res_agi.c: Couldn't connect to any host."
        "  FastAGI failed.",
        "[2026-11-23 12:00:03.000] ERROR[3] config.c: no such file pjsip_extra.conf",
    ]
    assert log_problems_since_boot(lines) == [lines[-1]]
    assert router_fallbacks(lines) == 2
