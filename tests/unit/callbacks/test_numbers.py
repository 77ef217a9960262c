"""Callback numbers (callcenter/callbacks/numbers.py): one spelling per number, do-not-call."""

from __future__ import annotations

import pytest

from callcenter.callbacks.numbers import (
    CallbackError,
    DoNotCallList,
    is_dialable,
    normalize_number,
    parse_do_not_call,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("(010) 6552.9988", "01065529988"),
        ("+86 (138) 0013-8000", "+8613800138000"),
        ("  13800138000\t", "13800138000"),
        ("138\u00a00013\u00a08000", "13800138000"),  # a no-break space pasted from a form
        ("2001", "2001"),  # an internal extension
        ("123", "123"),
        ("1" * 20, "1" * 20),
        ("+" + "9" * 20, "+" + "9" * 20),
    ],
)
def test_a_number_is_normalised_to_digits_and_a_leading_plus(raw: str, expected: str) -> None:
    assert normalize_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "no digits"),
        ("   ", "no digits"),
        ("+", "no digits"),
        ("-().", "no digits"),
        ("12", "2 digits"),
        ("+12", "2 digits"),
        ("1" * 21, "21 digits"),
        ("13800I38000", "'I'"),
        ("call me", "'acelm'"),
        ("++8613800138000", "'+'"),
        ("86+13800138000", "'+'"),
        ("*2001", "'*'"),
        ("2001#", "'#'"),
        ("１３８００１３８０００", "only digits"),  # full-width digits are not dialled
    ],
)
def test_a_bad_number_is_refused_with_the_input_named(raw: str, why: str) -> None:
    with pytest.raises(CallbackError) as caught:
        normalize_number(raw)
    assert caught.value.error_id == "invalid-number"
    assert repr(raw) in str(caught.value)
    assert why in str(caught.value)
    assert caught.value.details == {"number": raw}


def test_the_do_not_call_list_matches_a_number_in_any_formatting() -> None:
    dnc = DoNotCallList(["138 0013 8000", "+44 20 7946 0000"])
    assert dnc.numbers == frozenset({"13800138000", "+442079460000"})
    for spelling in ("13800138000", "(138) 0013-8000", "+44 (20) 7946-0000"):
        with pytest.raises(CallbackError) as caught:
            dnc.check(spelling)
        assert caught.value.error_id == "do-not-call"
        assert repr(spelling) in str(caught.value)
        assert spelling in dnc
    assert dnc.check("139 0000 0000") == "13900000000"
    assert "13900000000" not in dnc


def test_the_do_not_call_list_does_not_guess_country_codes() -> None:
    dnc = DoNotCallList(["13800138000"])
    assert dnc.check("+8613800138000") == "+8613800138000"


def test_an_invalid_number_is_never_on_the_list_and_check_says_it_is_invalid() -> None:
    dnc = DoNotCallList(["2001"])
    assert "abc" not in dnc
    assert 2001 not in dnc
    with pytest.raises(CallbackError) as caught:
        dnc.check("abc")
    assert caught.value.error_id == "invalid-number"


def test_an_empty_list_refuses_nothing_and_lists_are_compared_by_numbers() -> None:
    assert DoNotCallList().check("2001") == "2001"
    assert DoNotCallList(["2001", "2 0 0 1"]) == DoNotCallList(["2001"])
    assert hash(DoNotCallList(["2001"])) == hash(DoNotCallList(["20-01"]))


def test_a_bad_entry_refuses_the_whole_list() -> None:
    with pytest.raises(CallbackError) as caught:
        DoNotCallList(["2001", "x"])
    assert caught.value.error_id == "invalid-number"


def test_the_environment_value_is_a_comma_separated_list() -> None:
    dnc = parse_do_not_call(" 138 0013 8000 , +86 139-0000-0000,,2001 ")
    assert dnc.numbers == frozenset({"13800138000", "+8613900000000", "2001"})


@pytest.mark.parametrize("spec", ["", "  ", ",", " , "])
def test_an_empty_environment_value_is_an_empty_list(spec: str) -> None:
    assert parse_do_not_call(spec) == DoNotCallList()


def test_a_bad_entry_in_the_environment_value_names_the_entry() -> None:
    with pytest.raises(CallbackError) as caught:
        parse_do_not_call("2001, 138-OO13")
    assert caught.value.error_id == "do-not-call-invalid"
    assert "do-not-call list" in str(caught.value)
    assert "'138-OO13'" in str(caught.value)


def test_caller_ids_that_are_no_number_are_kept_but_not_dialable() -> None:
    for caller_id in (None, "", "anonymous", "Anonymous", "withheld", "Restricted", "ACME Trunk"):
        assert not is_dialable(caller_id), caller_id
    for number in ("2001", "13800138000", "+86 (138) 0013-8000"):
        assert is_dialable(number), number
