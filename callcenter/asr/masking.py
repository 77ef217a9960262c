"""Masking personal numbers in transcripts and call records shown or exported (pure).

Masked: phone numbers (mainland mobiles 1[3-9]x with 11 digits, landlines
with or without the 0 area code, international numbers written with + or
00), Chinese resident ID numbers (18 characters, the last may be X) and bank
card numbers (13-19 digits passing the Luhn check), also when a recogniser
split them into one token per digit or wrote them in Chinese numerals.

What stays visible: the last 4 digits (a mobile keeps its first 3 too, the
usual 138****8000), enough for an inspector to tell whether the agent read a
number back correctly. When in doubt the rule masks: an order number that
looks like a landline is hidden too; a staff number (4 digits) never is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from callcenter.asr.numerals import Digit, digit_runs

MASK = "*"
_ID = re.compile(r"[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")  # area code 0xx / 0xxx + 7-8 digits
_LOCAL = re.compile(r"[2-9]\d{6,7}")  # a landline without its area code
_INTERNATIONAL = re.compile(r"00[1-9]\d{6,14}")


class _Worded(Protocol):
    @property
    def word(self) -> str: ...


W = TypeVar("W", bound=_Worded)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _kept(digits: str, international: bool) -> set[int] | None:
    """Indexes of the digits left visible, or None when the run is no personal number."""
    n = len(digits)
    last4 = set(range(max(0, n - 4), n))
    if international and 7 <= n <= 15:
        return last4
    if _MOBILE.fullmatch(digits):
        return {0, 1, 2} | last4
    if _ID.fullmatch(digits):
        return last4
    if 13 <= n <= 19 and digits.isdigit() and luhn_ok(digits):
        return last4
    if _LANDLINE.fullmatch(digits) or _LOCAL.fullmatch(digits):
        return last4
    if _INTERNATIONAL.fullmatch(digits):
        return last4
    return None


def _masked_units(run: list[Digit], international: bool) -> list[Digit]:
    digits = "".join(d.digit for d in run)
    kept = _kept(digits, international)
    if kept is not None:
        return [d for i, d in enumerate(run) if i not in kept]
    # Several numbers spoken without a pause run together: find mobiles and IDs inside.
    hidden: list[Digit] = []
    for pattern, length in ((_ID, 18), (_MOBILE, 11)):
        start = 0
        while start + length <= len(digits):
            if pattern.fullmatch(digits, start, start + length):
                window = run[start : start + length]
                keep = _kept(digits[start : start + length], False) or set()
                hidden.extend(d for i, d in enumerate(window) if i not in keep)
                start += length
            else:
                start += 1
    return hidden


def _preceded_by_plus(tokens: Sequence[str], first: Digit) -> bool:
    before = tokens[first.token][: first.start].rstrip()
    if before:
        return before.endswith("+")
    for token in reversed(tokens[: first.token]):
        stripped = token.strip()
        if stripped:
            return stripped.endswith("+") or stripped.lower() == "plus"
    return False


def mask_tokens(tokens: Sequence[str]) -> list[str]:
    """The tokens with the digits of personal numbers replaced by `*` (token count unchanged)."""
    chars = [list(t) for t in tokens]
    whole: set[int] = set()  # tokens that are one spoken digit ("eight")
    for run in digit_runs(tokens):
        for unit in _masked_units(run, _preceded_by_plus(tokens, run[0])):
            if unit.end - unit.start > 1:  # a digit said as a word ("eight"): hide the token
                whole.add(unit.token)
            else:
                chars[unit.token][unit.start : unit.end] = [MASK] * (unit.end - unit.start)
    return [MASK if i in whole else "".join(c) for i, c in enumerate(chars)]


def mask_text(text: str) -> str:
    """Free text (a transcript's text, call notes) with personal numbers masked."""
    if not text:
        return text
    parts = re.split(r"(\s+)", text)
    return "".join(mask_tokens(parts))


def mask_words(words: Sequence[W]) -> list[W]:
    """Recogniser words (dataclasses with `word`) with numbers masked; times unchanged."""
    masked = mask_tokens([w.word for w in words])
    return [
        w if new == w.word else replace(w, word=new)  # type: ignore[type-var]
        for w, new in zip(words, masked, strict=True)
    ]


def mask_word_dicts(words: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Like `mask_words` for JSON words ({"word", "start", "end", ...})."""
    items = [dict(w) for w in words]
    for item, new in zip(items, mask_tokens([str(w["word"]) for w in items]), strict=True):
        item["word"] = new
    return items


def mask_number(number: str | None) -> str | None:
    """A caller's number: masked when it is a personal number; extensions (2001) stay."""
    if not number:
        return number
    masked = mask_tokens([number])[0]
    if masked != number:
        return masked
    digits = sum(ch.isdigit() for ch in number)
    if digits >= 7:  # a number of no known shape: keep the last 4 digits only
        seen = 0
        out = []
        for ch in reversed(number):
            if ch.isdigit():
                seen += 1
                out.append(ch if seen <= 4 else MASK)
            else:
                out.append(ch)
        return "".join(reversed(out))
    return number


CALL_NUMBER_FIELDS = ("caller_number",)
CALL_TEXT_FIELDS = ("notes",)


def mask_call_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A call record's JSON (`CallRecord.to_json()` or an API row) ready to show or export."""
    out = dict(record)
    for key in CALL_NUMBER_FIELDS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = mask_number(value)
    for key in CALL_TEXT_FIELDS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = mask_text(value)
        elif isinstance(value, list):
            out[key] = [mask_text(v) if isinstance(v, str) else v for v in value]
    return out
