"""Spoken digits across recogniser tokens (pure).

vosk writes a number as separate tokens ("1 3 8 ...", "一 三 八 ...",
"幺 零 零 幺", "one three eight"); a caller's number typed into notes has
spaces or hyphens in it. `digit_runs` finds the digit sequences whatever the
split, remembering which characters of which token each digit came from, so
callers can mask them in place or point at the words that said them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# 幺 is how a 1 is read out in phone and staff numbers; 两/兩 a 2 in some readings.
CJK_DIGITS = {
    "零": "0",
    "〇": "0",
    "○": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "兩": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
WORD_DIGITS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
# Characters that may sit between the digits of one number without ending it.
SEPARATORS = frozenset(" \t\u3000-‐‑–—()（）")


@dataclass(frozen=True)
class Digit:
    """One spoken or written digit: `token`'s characters [start, end)."""

    digit: str  # "0"-"9", or "X" (the check character of a resident ID)
    token: int
    start: int
    end: int


def char_digit(ch: str) -> str | None:
    if "0" <= ch <= "9":
        return ch
    if "０" <= ch <= "９":
        return chr(ord(ch) - ord("０") + ord("0"))
    return CJK_DIGITS.get(ch)


def digit_runs(tokens: Sequence[str]) -> list[list[Digit]]:
    """Maximal digit sequences; token boundaries and `SEPARATORS` do not end a run.

    An "X" directly after 17 digits is kept as the 18th character (the check
    character of a Chinese resident ID number).
    """
    runs: list[list[Digit]] = []
    current: list[Digit] = []

    def close() -> None:
        nonlocal current
        if current:
            runs.append(current)
            current = []

    for index, token in enumerate(tokens):
        word = WORD_DIGITS.get(token.strip().lower().strip(".,?!"))
        if word is not None and token.strip():
            current.append(Digit(word, index, 0, len(token)))
            continue
        for pos, ch in enumerate(token):
            digit = char_digit(ch)
            if digit is not None:
                current.append(Digit(digit, index, pos, pos + 1))
            elif ch in "xX" and len(current) == 17:
                current.append(Digit("X", index, pos, pos + 1))
                close()
            elif ch not in SEPARATORS:
                close()
    close()
    return runs
