"""Script checks on transcripts in Chinese and English, written the way vosk writes them
(space-separated tokens with times)."""

from __future__ import annotations

import pytest

from callcenter.asr.checks import (
    CLOSING,
    DEAD_AIR,
    FORBIDDEN,
    GOODBYE,
    GREETING,
    HANGUP_ORDER,
    AgentLeg,
    CheckResult,
    ChecksConfigError,
    check_script,
    compliance_checks,
    find_phrases,
    script_settings,
    spoken_numbers,
    unchecked,
)
from callcenter.asr.engine import Word


def words(text: str, start: float = 0.0, step: float = 0.4) -> tuple[Word, ...]:
    """One token per space-separated item, `step` seconds apart from `start`."""
    out = []
    t = start
    for token in text.split():
        out.append(Word(token, round(t, 3), round(t + step - 0.05, 3), 0.9))
        t += step
    return tuple(out)


def by_check(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check: r for r in results}


ZH = script_settings("zh-CN", company_names=("华联公司",))
TW = script_settings("zh-TW")
EN = script_settings("en", company_names=("acme",))

ZH_GREETING = "您 好 华联 公司 客服 部 工号 一 零 零 一 为 您 服务"
ZH_CLOSING = "请问 您 还 有 什么 需要 帮助 的 吗 好 的 再见"


def zh_call(
    opening: str = ZH_GREETING,
    middle: str = "好 的 我 帮 您 查 一下",
    closing: str = ZH_CLOSING,
    *,
    closing_at: float = 50.0,
    duration: float = 60.0,
) -> AgentLeg:
    return AgentLeg((*words(opening), *words(middle, 20.0), *words(closing, closing_at)), duration)


def test_complete_chinese_call_passes_every_check_with_evidence() -> None:
    results = by_check(check_script([zh_call()], ZH, "1001"))
    assert [r.passed for r in results.values()] == [True, True, True, True]
    greeting = results[GREETING]
    elements = {e.element: e for e in greeting.evidence}
    assert elements["hello"].phrase == "您好" and elements["hello"].start == 0.0
    # the company name configured for the deployment, said across two tokens
    assert [w.word for w in elements["org"].words] == ["华联", "公司"]
    staff = elements["staff-number"]
    assert staff.phrase == "1001"
    assert [w.word for w in staff.words] == ["一", "零", "零", "一"]
    assert staff.start == pytest.approx(2.8) and staff.end == pytest.approx(4.35)
    closing = results[CLOSING].evidence[0]
    assert closing.start >= 50.0 and "需要" in [w.word for w in closing.words]
    assert results[GOODBYE].evidence[0].words[-1].word == "再见"


def test_greeting_missing_says_which_elements_are_missing() -> None:
    leg = zh_call(opening="嗯 请 讲")
    greeting = by_check(check_script([leg], ZH, "1001"))[GREETING]
    assert greeting.passed is False
    assert "not heard: hello, company/department, staff number" in greeting.detail
    assert "first 15 s" in greeting.suggestion
    assert greeting.evidence == ()


def test_greeting_said_after_the_opening_window_is_late() -> None:
    leg = AgentLeg((*words("请 稍 等"), *words(ZH_GREETING, start=18.0)), 60.0)
    greeting = by_check(check_script([leg], ZH, "1001"))[GREETING]
    assert greeting.passed is False
    assert "not in the first 15 s" in greeting.detail
    assert "hello (at 18.0 s)" in greeting.detail
    # a longer opening window accepts it
    wide = script_settings("zh-CN", opening_seconds=25.0, company_names=("华联公司",))
    assert by_check(check_script([leg], wide, "1001"))[GREETING].passed is True


def test_staff_number_spoken_with_yao_matches_and_another_number_is_flagged() -> None:
    yao = zh_call(opening="您 好 客服 中心 工号 幺 零 零 幺")
    assert by_check(check_script([yao], ZH, "1001"))[GREETING].passed is True
    other = by_check(check_script([yao], ZH, "1002"))[GREETING]
    assert other.passed is False
    assert "staff number said as 1001" in other.detail and "agent is 1002" in other.detail
    assert other.evidence[-1].phrase == "1001"


def test_staff_number_in_digits_and_in_one_token() -> None:
    digits = zh_call(opening="您好 客服部 工号 1 0 0 7 为您服务")
    assert by_check(check_script([digits], ZH, "1007"))[GREETING].passed is True
    joined = zh_call(opening="您好 客服部 工号一零零七")
    assert by_check(check_script([joined], ZH, "1007"))[GREETING].passed is True


def test_unknown_staff_number_needs_the_keyword_followed_by_digits() -> None:
    with_number = zh_call(opening="您好 客服部 工号 三 五 二 八")
    assert by_check(check_script([with_number], ZH, None))[GREETING].passed is True
    without = zh_call(opening="您好 客服部 为 您 服务")
    result = by_check(check_script([without], ZH, None))[GREETING]
    assert result.passed is False and "staff number" in result.detail


def test_staff_number_announced_by_the_system_counts() -> None:
    leg = zh_call(opening="您 好 客服 部 请 讲")
    assert by_check(check_script([leg], ZH, "1001"))[GREETING].passed is False
    announced = by_check(check_script([leg], ZH, "1001", announced=True))[GREETING]
    assert announced.passed is True
    assert "announced by the system" in announced.detail


@pytest.mark.parametrize(
    ("said", "phrase"),
    [
        ("喂 你 在 吗", "喂"),
        ("这个 不行", "不行"),
        ("我 不 知道", "不知道"),
        ("我 不 清楚", "我不清楚"),
        ("不 可以", "不可以"),
        ("我 不 想 回答 你 的 问题", "我不想回答你的问题"),
    ],
)
def test_each_forbidden_phrase_is_found_with_its_time(said: str, phrase: str) -> None:
    leg = zh_call(middle=said)
    forbidden = by_check(check_script([leg], ZH, "1001"))[FORBIDDEN]
    assert forbidden.passed is False
    assert [e.phrase for e in forbidden.evidence] == [phrase]
    assert forbidden.evidence[0].start >= 20.0
    assert phrase in forbidden.detail


def test_a_forbidden_phrase_inside_a_longer_one_is_reported_once() -> None:
    leg = zh_call(middle="我 不 想 回答 你 的 问题 我 不 清楚")
    forbidden = by_check(check_script([leg], ZH, "1001"))[FORBIDDEN]
    assert [e.phrase for e in forbidden.evidence] == ["我不想回答你的问题", "我不清楚"]


def test_closing_question_missing_and_goodbye_present() -> None:
    leg = zh_call(closing="好 的 再见")
    results = by_check(check_script([leg], ZH, "1001"))
    assert results[CLOSING].passed is False
    assert results[CLOSING].detail == "no closing question heard"
    assert results[GOODBYE].passed is True


def test_closing_said_early_is_not_the_closing() -> None:
    leg = zh_call(
        middle="您 还 有 什么 需要 帮助 的 吗", closing="好 的", closing_at=55.0, duration=120.0
    )
    results = by_check(check_script([leg], ZH, "1001"))
    assert results[CLOSING].passed is False
    assert "not in the last 30 s" in results[CLOSING].detail
    assert results[CLOSING].evidence[0].start == pytest.approx(20.0)


def test_traditional_characters_match_the_listed_phrases() -> None:
    leg = AgentLeg(
        (
            *words("您 好 客服 專線 工號 一 零 零 二"),
            *words("我 不 知 道", 10.0),
            *words("您 還 有 什 麼 需 要 幫 助 的 嗎 再 見", 40.0),
        ),
        50.0,
    )
    results = by_check(check_script([leg], TW, "1002"))
    assert results[GREETING].passed is True
    assert results[FORBIDDEN].passed is False
    assert results[FORBIDDEN].evidence[0].phrase == "不知道"
    assert results[CLOSING].passed is True
    assert results[GOODBYE].passed is True


def test_english_call() -> None:
    opening = (
        "hello thank you for calling acme customer service my staff number is one zero zero two"
    )
    leg = AgentLeg(
        (
            *words(opening),
            *words("i don't know that sorry", 20.0),
            *words("is there anything else i can help you with okay goodbye", 50.0),
        ),
        60.0,
    )
    results = by_check(check_script([leg], EN, "1002"))
    assert results[GREETING].passed is True
    staff = next(e for e in results[GREETING].evidence if e.element == "staff-number")
    assert [w.word for w in staff.words] == ["one", "zero", "zero", "two"]
    assert results[FORBIDDEN].passed is False
    assert results[FORBIDDEN].evidence[0].phrase == "i don't know"
    assert results[CLOSING].passed is True
    assert results[GOODBYE].evidence[0].phrase == "goodbye"


def test_english_words_match_on_word_boundaries_only() -> None:
    # "they" contains "hey", "maybe" contains "bye", "whichever" contains "hi"
    leg = AgentLeg(words("they said maybe whichever"), 10.0)
    results = by_check(check_script([leg], EN, "1002"))
    assert results[FORBIDDEN].passed is True
    assert results[GOODBYE].passed is False
    assert "hello" in results[GREETING].detail


def test_english_greeting_missing_and_closing_missing() -> None:
    leg = AgentLeg(words("yes what do you want") + words("ok", 30.0), 40.0)
    results = by_check(check_script([leg], EN, "1002"))
    assert results[GREETING].passed is False
    assert results[CLOSING].passed is False
    assert results[GOODBYE].passed is False


def test_transfer_greeting_on_the_first_leg_closing_on_the_last() -> None:
    first = AgentLeg(words(ZH_GREETING), 30.0)
    second = AgentLeg(words("好 的 不 行", 1.0) + words(ZH_CLOSING, 20.0), 30.0)
    results = by_check(check_script([first, second], ZH, "1001"))
    assert results[GREETING].passed is True
    assert results[CLOSING].passed is True and results[CLOSING].evidence[0].leg == 1
    assert results[FORBIDDEN].evidence[0].leg == 1


def test_silent_agent_fails_the_greeting_and_passes_forbidden() -> None:
    results = by_check(check_script([AgentLeg((), 30.0)], ZH, "1001"))
    assert results[GREETING].passed is False
    assert results[FORBIDDEN].passed is True
    assert results[CLOSING].passed is False


def test_no_transcript_gives_unchecked_results_never_a_verdict() -> None:
    results = check_script([], ZH, "1001")
    assert {r.check for r in results} == {GREETING, FORBIDDEN, CLOSING, GOODBYE}
    assert all(r.passed is None for r in results)
    assert unchecked("no model")[0].detail == "no model"


def test_results_serialise_with_evidence_times() -> None:
    data = by_check(check_script([zh_call()], ZH, "1001"))[GREETING].to_json()
    assert set(data) == {"check", "passed", "detail", "suggestion", "evidence"}
    hello = data["evidence"][0]
    assert hello["element"] == "hello" and hello["start"] == 0.0
    assert hello["words"][0] == {"word": "您", "start": 0.0, "end": 0.35}


def test_phrase_lists_are_configurable_per_language() -> None:
    custom = script_settings(
        "zh-CN", overrides={"zh-CN": {"goodbye": ["祝您生活愉快"]}, "yue": {"hello": ["你好"]}}
    )
    leg = zh_call(closing="祝 您 生活 愉快")
    assert by_check(check_script([leg], custom, "1001"))[GOODBYE].passed is True
    assert by_check(check_script([zh_call()], custom, "1001"))[GOODBYE].passed is False
    assert script_settings("yue", overrides={"yue": {"hello": ["你好"]}}).phrases.hello == ("你好",)
    with pytest.raises(ChecksConfigError, match="no phrase lists for language 'fr'"):
        script_settings("fr")
    with pytest.raises(ChecksConfigError, match="unknown keys"):
        script_settings("zh-CN", overrides={"zh-CN": {"greetings": ["hi"]}})


def test_find_phrases_strips_spaces_between_cjk_tokens_only() -> None:
    ws = words("还 有 什么 需要 帮助")
    assert [e.phrase for e in find_phrases(ws, ["还有什么需要帮助"], "closing")] == [
        "还有什么需要帮助"
    ]
    assert find_phrases(words("any thing else"), ["anything else"], "closing") == []


def test_spoken_numbers_across_tokens() -> None:
    assert [d for d, _ in spoken_numbers(words("工号 幺 三 八 好 的 2 0"))] == ["138", "20"]
    assert [d for d, _ in spoken_numbers(words("one oh two"))] == ["102"]


def test_compliance_checks_need_no_asr() -> None:
    clean = by_check(
        compliance_checks(dead_air_seconds=0.8, dead_air_flagged=False, agent_hung_up_first=False)
    )
    assert clean[DEAD_AIR].passed is True and clean[HANGUP_ORDER].passed is True
    bad = by_check(
        compliance_checks(dead_air_seconds=6.0, dead_air_flagged=True, agent_hung_up_first=True)
    )
    assert bad[DEAD_AIR].passed is False and "6.0 s" in bad[DEAD_AIR].detail
    assert bad[HANGUP_ORDER].passed is False
    unknown = by_check(
        compliance_checks(
            dead_air_seconds=None,
            dead_air_flagged=True,
            agent_hung_up_first=None,
            voice_recorded=False,
        )
    )
    assert unknown[DEAD_AIR].passed is None and unknown[HANGUP_ORDER].passed is None
