"""Masking phone, ID and bank card numbers in transcripts and call records."""

from __future__ import annotations

import pytest

from callcenter.asr.engine import Word
from callcenter.asr.masking import (
    luhn_ok,
    mask_call_record,
    mask_number,
    mask_text,
    mask_tokens,
    mask_word_dicts,
    mask_words,
)

VISA_TEST = "4111111111111111"  # passes Luhn
NOT_LUHN = "4111111111111112"
ID_NUMBER = "11010519491231002X"


def test_luhn() -> None:
    assert luhn_ok(VISA_TEST)
    assert luhn_ok("6011000990139424")
    assert not luhn_ok(NOT_LUHN)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call me on 13800138000 please", "call me on 138****8000 please"),
        ("手机 138 0013 8000", "手机 138 **** 8000"),
        ("手机138-0013-8000。", "手机138-****-8000。"),
        ("座机 010-12345678", "座机 ***-****5678"),
        ("座机 0755 1234567", "座机 **** ***4567"),
        ("本地 87654321", "本地 ****4321"),
        ("+86 138 0013 8000", "+** *** **** 8000"),
        ("0044 20 7946 0958", "**** ** **** 0958"),
        (f"身份证 {ID_NUMBER}", "身份证 **************002X"),
        ("身份证 11010519491231002x", "身份证 **************002x"),
        (f"卡号 {VISA_TEST}", "卡号 ************1111"),
        ("卡号 4111 1111 1111 1111", "卡号 **** **** **** 1111"),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "工号1001为您服务",  # a staff number
        f"order {NOT_LUHN}",  # 16 digits failing Luhn: no card
        "价格 199 元, 2 件",
        "今天是 2026 年 11 月 24 日",
        "extension 2001",
    ],
)
def test_numbers_that_are_not_personal_stay(text: str) -> None:
    assert mask_text(text) == text


def test_digits_split_across_vosk_tokens_keep_their_token_count_and_times() -> None:
    tokens = "我 的 号码 是 1 3 8 0 0 1 3 8 0 0 0 谢谢".split()
    words = [Word(t, i * 0.3, i * 0.3 + 0.25) for i, t in enumerate(tokens)]
    masked = mask_words(words)
    assert [w.word for w in masked] == [*"我 的 号码 是 1 3 8 * * * * 8 0 0 0 谢谢".split()]
    assert [(w.start, w.end) for w in masked] == [(w.start, w.end) for w in words]
    assert masked[0] is words[0]  # untouched words are the same objects


def test_chinese_numerals_and_yao_are_masked() -> None:
    said = "幺 三 八 零 零 幺 三 八 零 零 零".split()
    assert mask_tokens(said) == [*"幺 三 八 * * * * 八 零 零 零".split()]
    assert mask_text("电话一三八零零一三八零零零") == "电话一三八****八零零零"


def test_english_digit_words_are_masked_as_whole_tokens() -> None:
    said = "my number is one three eight zero zero one three eight zero zero zero".split()
    assert mask_tokens(said)[3:] == [*"one three eight * * * * eight zero zero zero".split()]


def test_id_number_split_across_tokens_with_x() -> None:
    tokens = [*ID_NUMBER[:6], ID_NUMBER[6:14], *ID_NUMBER[14:]]
    masked = mask_tokens(tokens)
    assert "".join(masked) == "**************002X"
    assert len(masked) == len(tokens)


def test_card_number_in_word_dicts() -> None:
    words = [
        {"word": chunk, "start": i, "end": i + 0.5}
        for i, chunk in enumerate(["卡号", "4111", "1111", "1111", "1111"])
    ]
    masked = mask_word_dicts(words)
    assert [w["word"] for w in masked] == ["卡号", "****", "****", "****", "1111"]
    assert words[1]["word"] == "4111"  # the input is not modified


def test_numbers_run_together_still_hide_the_mobile_inside() -> None:
    # "工号 1002" directly followed by a mobile: one run of 15 digits (no Luhn match)
    assert mask_text("1002 13800138000") == "1002 138****8000"


def test_mask_number_for_call_records() -> None:
    assert mask_number("13800138000") == "138****8000"
    assert mask_number("+8613800138000") == "+*********8000"
    assert mask_number("2001") == "2001"  # a demo PSTN extension
    assert mask_number("5551234567") == "******4567"  # unknown shape, 7+ digits
    assert mask_number(None) is None
    assert mask_number("") == ""


def test_mask_call_record() -> None:
    record = {
        "linkedid": "1700000000.1",
        "caller_number": "13800138000",
        "caller_name": "张伟",
        "agent": "1001",
        "notes": ["customer gave card 4111 1111 1111 1111"],
    }
    masked = mask_call_record(record)
    assert masked["caller_number"] == "138****8000"
    assert masked["notes"] == ["customer gave card **** **** **** 1111"]
    assert masked["agent"] == "1001" and masked["linkedid"] == "1700000000.1"
    assert record["caller_number"] == "13800138000"
