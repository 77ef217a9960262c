"""Script checks on the agent's transcript (SERVICE_RULES section 2), pure.

Input: the recogniser's words with their times on the agent's own-voice
leg. Output: one `CheckResult` per rule, each a suggestion with its
evidence (the matched words and when they were said), never a score: a
recogniser mishears, so the inspector listens and decides.

- greeting: hello, company/department and the staff number each heard in
  the opening `opening_seconds` (the staff number counts when the system
  announced it before the bridge);
- forbidden phrases anywhere (喂/哎 as an address, flat refusals);
- the closing question and the goodbye in the last `closing_seconds`.

Matching: phrases and words are normalised (traditional -> simplified for
the characters of the phrase lists, full-width -> ASCII, lower case,
punctuation dropped); vosk writes Chinese as space-separated tokens, so the
spaces between CJK characters are dropped before matching, while Latin and
Hangul words keep theirs and match on word boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.asr.engine import Word
from callcenter.asr.numerals import WORD_DIGITS, char_digit

GREETING = "greeting"
FORBIDDEN = "forbidden-phrases"
CLOSING = "closing-question"
GOODBYE = "goodbye"
DEAD_AIR = "dead-air"
HANGUP_ORDER = "hang-up-order"
SCRIPT_CHECKS = (GREETING, FORBIDDEN, CLOSING, GOODBYE)
PHRASE_KEYS = ("hello", "org", "staff_keywords", "closing", "goodbye", "forbidden")


class ChecksConfigError(ValueError):
    error_id = "script-phrases-invalid"


@dataclass(frozen=True)
class PhraseList:
    hello: tuple[str, ...] = ()
    org: tuple[str, ...] = ()  # company or department names and words
    staff_keywords: tuple[str, ...] = ()  # 工号 ...: digits after it when the number is unknown
    closing: tuple[str, ...] = ()
    goodbye: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()


_ZH = PhraseList(
    hello=("您好", "你好"),
    org=("公司", "客服", "客服部", "客服中心", "服务中心", "热线", "服务热线"),
    staff_keywords=("工号", "号"),
    closing=(
        "您还有什么需要帮助的吗",
        "还有什么需要帮助",
        "还有什么需要帮忙",
        "还有什么可以帮您",
        "还有什么可以帮你",
        "还有什么可以为您服务",
        "还有其他问题吗",
        "还有别的问题吗",
        "还有什么问题吗",
    ),
    goodbye=("再见", "拜拜"),
    forbidden=("喂", "哎", "不行", "不知道", "我不清楚", "不可以", "我不想回答你的问题"),
)
DEFAULT_PHRASES: dict[str, PhraseList] = {
    "zh-CN": _ZH,
    # The same phrases in traditional characters match after normalisation;
    # Taiwanese wording on top.
    "zh-TW": PhraseList(
        hello=_ZH.hello,
        org=(*_ZH.org, "服務專線", "客服專線"),
        staff_keywords=(*_ZH.staff_keywords, "編號"),
        closing=(*_ZH.closing, "請問還有什麼需要服務的嗎", "還有什麼可以為您服務"),
        goodbye=_ZH.goodbye,
        forbidden=_ZH.forbidden,
    ),
    "en": PhraseList(
        hello=("hello", "good morning", "good afternoon", "good evening", "hi"),
        org=("company", "customer service", "customer support", "support", "department"),
        staff_keywords=("staff number", "agent number", "my number is", "operator number"),
        closing=(
            "anything else i can help",
            "anything else i can do for you",
            "is there anything else",
            "anything else you need",
        ),
        goodbye=("bye", "goodbye", "good bye"),
        forbidden=(
            "hey",
            "no way",
            "i don't know",
            "i do not know",
            "i'm not sure",
            "i am not sure",
            "you can't",
            "not allowed",
            "i don't want to answer your question",
            "i do not want to answer your question",
        ),
    ),
    # Korean: the only vosk model on PyPI is Korean (the pipeline test uses it).
    "ko": PhraseList(
        hello=("안녕하세요", "안녕하십니까"),
        org=("고객센터", "회사", "상담센터"),
        staff_keywords=("상담원",),
        closing=("더 도와드릴 것이 있으신가요", "도와드릴 것", "다른 문의"),
        goodbye=("안녕히 계세요", "안녕히 가세요", "감사합니다"),
        forbidden=("몰라요", "모르겠어요", "안 돼요", "안돼요"),
    ),
}

# Traditional -> simplified for the characters in the phrase lists and common
# service wording; enough for matching, not a general converter.
_T2S_PAIRS = (
    "還还 麼么 麽么 幫帮 嗎吗 見见 號号 為为 務务 問问 題题 們们 謝谢 請请 對对 歡欢 電电 話话"
    " 聽听 應应 這这 個个 與与 門门 熱热 線线 業业 貴贵 別别 氣气 時时 間间 給给 預预 讓让 說说"
    " 會会 開开 關关 處处 記记 錄录 單单 員员 經经 辦办 後后 沒没 頭头 錢钱 買买 賣卖 東东 險险"
    " 費费 帳账 戶户 碼码 證证 訊讯 興兴 樂乐 幾几 萬万 點点 鐘钟 銀银 華华 國国 區区 廣广 實实"
    " 際际 歲岁 學学 習习 車车 長长 張张 聯联 繫系 係系 條条 據据 煩烦 確确 認认 態态 調调 語语"
    " 聲声 歸归 納纳 變变 裡里 裏里 專专 編编 幫帮 麻麻 訂订 驗验 質质 級级 護护 輸输 入入 辭辞"
)
_T2S = str.maketrans({p[0]: p[1] for p in _T2S_PAIRS.split()})
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
_PUNCT = re.compile(r"[^\w\s'+-]")


def is_cjk(ch: str) -> bool:
    """Han characters (and CJK punctuation-free symbols): written without spaces."""
    code = ord(ch)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).translate(_T2S).lower()
    return _PUNCT.sub(" ", text)


def _compact(text: str) -> str:
    """Single spaces, none next to a CJK character."""
    out: list[str] = []
    for token in text.split():
        if out and not (is_cjk(out[-1][-1]) or is_cjk(token[0])):
            out.append(" ")
        out.append(token)
    return "".join(out)


@dataclass(frozen=True)
class _Stream:
    text: str
    owner: tuple[int, ...]  # the word each character came from (-1: an inserted space)


def _stream(words: Sequence[Word]) -> _Stream:
    text: list[str] = []
    owner: list[int] = []
    for index, word in enumerate(words):
        token = _compact(normalise(word.word))
        if not token:
            continue
        if text and not (is_cjk(text[-1]) or is_cjk(token[0])):
            text.append(" ")
            owner.append(-1)
        text.extend(token)
        owner.extend([index] * len(token))
    return _Stream("".join(text), tuple(owner))


def _pattern(phrase: str) -> re.Pattern[str] | None:
    body = _compact(normalise(phrase))
    if not body:
        return None
    head = "" if is_cjk(body[0]) else r"(?<![^\W_])"
    tail = "" if is_cjk(body[-1]) else r"(?![^\W_])"
    return re.compile(head + re.escape(body) + tail)


@dataclass(frozen=True)
class Evidence:
    """What was heard, where: the words that matched and their times in the leg."""

    element: str  # hello, org, staff-number, forbidden, closing, goodbye
    phrase: str
    words: tuple[Word, ...]
    leg: int = 0  # which agent leg (0: the first; transfers have several)

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    def to_json(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "phrase": self.phrase,
            "start": self.start,
            "end": self.end,
            "leg": self.leg,
            "words": [{"word": w.word, "start": w.start, "end": w.end} for w in self.words],
        }


@dataclass(frozen=True)
class CheckResult:
    """A suggestion for the inspector; `passed` None: could not be checked (no transcript)."""

    check: str
    passed: bool | None
    detail: str
    suggestion: str
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "passed": self.passed,
            "detail": self.detail,
            "suggestion": self.suggestion,
            "evidence": [e.to_json() for e in self.evidence],
        }


def find_phrases(
    words: Sequence[Word], phrases: Sequence[str], element: str, leg: int = 0
) -> list[Evidence]:
    """Every occurrence of any phrase, in time order; a match inside a longer one is dropped."""
    stream = _stream(words)
    spans: list[tuple[int, int, str]] = []
    for phrase in sorted(set(phrases), key=lambda p: -len(normalise(p))):
        pattern = _pattern(phrase)
        if pattern is None:
            continue
        for m in pattern.finditer(stream.text):
            if not any(s <= m.start() and m.end() <= e for s, e, _ in spans):
                spans.append((m.start(), m.end(), phrase))
    found: list[Evidence] = []
    for s, e, phrase in sorted(spans):
        indexes = sorted({i for i in stream.owner[s:e] if i >= 0})
        found.append(Evidence(element, phrase, tuple(words[i] for i in indexes), leg))
    return found


def spoken_numbers(words: Sequence[Word]) -> list[tuple[str, tuple[Word, ...]]]:
    """Digit sequences said across consecutive words, with the words that said them."""
    runs: list[tuple[str, tuple[Word, ...]]] = []
    digits: list[str] = []
    said: list[Word] = []

    def close() -> None:
        if digits:
            runs.append(("".join(digits), tuple(dict.fromkeys(said))))
        digits.clear()
        said.clear()

    for word in words:
        token = normalise(word.word).strip()
        if token in WORD_DIGITS:
            digits.append(WORD_DIGITS[token])
            said.append(word)
            continue
        for ch in token:
            digit = char_digit(ch)
            if digit is not None:
                digits.append(digit)
                said.append(word)
            elif not ch.isspace():
                close()
    close()
    return runs


@dataclass(frozen=True)
class ScriptSettings:
    language: str = "zh-CN"
    phrases: PhraseList = field(default_factory=lambda: DEFAULT_PHRASES["zh-CN"])
    opening_seconds: float = 15.0
    closing_seconds: float = 30.0


def script_settings(
    language: str = "zh-CN",
    *,
    opening_seconds: float = 15.0,
    closing_seconds: float = 30.0,
    company_names: Sequence[str] = (),
    overrides: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> ScriptSettings:
    """Settings for one language: the defaults, a deployment's overrides, its company names.

    `overrides` is the parsed phrases file: {language: {key: [phrases]}} with
    keys from `PHRASE_KEYS`; a listed key replaces the default list, a new
    language starts from empty lists.
    """
    table = dict(DEFAULT_PHRASES)
    for lang, lists in (overrides or {}).items():
        unknown = set(lists) - set(PHRASE_KEYS)
        if unknown:
            raise ChecksConfigError(
                f"phrase list {lang!r} has unknown keys {sorted(unknown)}; known: {PHRASE_KEYS}"
            )
        base = table.get(lang, PhraseList())
        values: dict[str, tuple[str, ...]] = {}
        for key, listed in lists.items():
            if isinstance(listed, str) or not all(isinstance(p, str) for p in listed):
                raise ChecksConfigError(f"phrase list {lang}.{key} must be a list of strings")
            values[key] = tuple(listed)
        table[lang] = PhraseList(**{k: values.get(k, getattr(base, k)) for k in PHRASE_KEYS})
    if language not in table:
        raise ChecksConfigError(
            f"no phrase lists for language {language!r}; known: {sorted(table)} (add it to the"
            " phrases file, CALLCENTER_SCRIPT_PHRASES)"
        )
    phrases = table[language]
    if company_names:
        phrases = PhraseList(
            **{k: getattr(phrases, k) for k in PHRASE_KEYS if k != "org"},
            org=(*phrases.org, *company_names),
        )
    return ScriptSettings(language, phrases, opening_seconds, closing_seconds)


@dataclass(frozen=True)
class AgentLeg:
    """One agent's own-voice recording's words (a transfer gives a call several legs)."""

    words: tuple[Word, ...]
    duration: float


def _at(seconds: float) -> str:
    return f"{seconds:.1f} s"


def check_greeting(
    leg: AgentLeg,
    settings: ScriptSettings,
    staff_no: str | None,
    *,
    announced: bool = False,
) -> CheckResult:
    """Hello, company/department and staff number, each in the opening window."""
    window = settings.opening_seconds
    phrases = settings.phrases
    found: dict[str, list[Evidence]] = {
        "hello": find_phrases(leg.words, phrases.hello, "hello"),
        "org": find_phrases(leg.words, phrases.org, "org"),
        "staff-number": _staff_number(leg.words, phrases.staff_keywords, staff_no),
    }
    names = {"hello": "hello", "org": "company/department", "staff-number": "staff number"}
    missing: list[str] = []
    late: list[str] = []
    wrong: list[str] = []
    evidence: list[Evidence] = []
    notes: list[str] = []
    for element, hits in found.items():
        early = [h for h in hits if h.start <= window]
        if early:
            evidence.append(early[0])
            notes.append(f"{names[element]}: {early[0].phrase!r} at {_at(early[0].start)}")
        elif element == "staff-number" and announced:
            notes.append("staff number: announced by the system before the bridge")
        elif (
            element == "staff-number"
            and staff_no
            and (other := _other_staff_number(leg.words, staff_no, window))
        ):
            evidence.append(other)
            wrong.append(f"staff number said as {other.phrase} at {_at(other.start)}")
        elif hits:
            evidence.append(hits[0])
            late.append(f"{names[element]} (at {_at(hits[0].start)})")
        else:
            missing.append(names[element])
    passed = not (missing or late or wrong)
    problems = []
    if missing:
        problems.append("not heard: " + ", ".join(missing))
    if late:
        problems.append(f"not in the first {window:g} s: " + "; ".join(late))
    if wrong:
        problems.append(f"{wrong[0]}, but the agent is {staff_no}")
    detail = "; ".join(problems + notes)
    if passed:
        suggestion = "The greeting looks complete."
    else:
        suggestion = (
            f"Listen to the first {window:g} s: the greeting should be 您好 + company/department"
            " + staff number; check the "
            + ", ".join(
                [*missing, *(x.split(" (")[0] for x in late), *(["staff number"] if wrong else [])]
            )
            + "."
        )
    return CheckResult(GREETING, passed, detail, suggestion, tuple(evidence))


def _staff_number(
    words: Sequence[Word], keywords: Sequence[str], staff_no: str | None
) -> list[Evidence]:
    numbers = spoken_numbers(words)
    if staff_no:
        return [
            Evidence("staff-number", staff_no, _digits_words(digits, said, staff_no))
            for digits, said in numbers
            if staff_no in digits
        ]
    # Unknown agent: a staff keyword followed within 3 s by at least 3 digits.
    found = []
    for key in find_phrases(words, keywords, "staff-number"):
        for digits, said in numbers:
            if len(digits) >= 3 and key.end - 0.5 <= said[0].start <= key.end + 3.0:
                found.append(Evidence("staff-number", digits, (*key.words, *said)))
                break
    return found


def _digits_words(digits: str, said: tuple[Word, ...], staff_no: str) -> tuple[Word, ...]:
    """The words that said `staff_no` inside a longer run (one digit per word when split)."""
    if len(said) != len(digits):
        return said
    start = digits.index(staff_no)
    return said[start : start + len(staff_no)]


def _other_staff_number(words: Sequence[Word], staff_no: str, window: float) -> Evidence | None:
    """A number of the staff number's length said early that is not the agent's own."""
    for digits, said in spoken_numbers(words):
        if len(digits) == len(staff_no) and digits != staff_no and said[0].start <= window:
            return Evidence("staff-number", digits, said)
    return None


def check_forbidden(legs: Sequence[AgentLeg], settings: ScriptSettings) -> CheckResult:
    hits = [
        hit
        for n, leg in enumerate(legs)
        for hit in find_phrases(leg.words, settings.phrases.forbidden, "forbidden", n)
    ]
    if not hits:
        return CheckResult(FORBIDDEN, True, "no forbidden phrase heard", "Nothing to review.")
    said = "; ".join(f"{h.phrase!r} at {_at(h.start)}" for h in hits)
    return CheckResult(
        FORBIDDEN,
        False,
        f"heard: {said}",
        "Listen at the times given: a flat refusal or 喂/哎 as an address is a wording defect"
        " (the recogniser may have misheard).",
        tuple(hits),
    )


def _check_closing(
    check: str, label: str, leg: AgentLeg, phrases: Sequence[str], settings: ScriptSettings, n: int
) -> CheckResult:
    window_start = max(0.0, leg.duration - settings.closing_seconds)
    hits = find_phrases(leg.words, phrases, check, n)
    in_window = [h for h in hits if h.end >= window_start]
    if in_window:
        hit = in_window[-1]
        return CheckResult(
            check,
            True,
            f"{label}: {hit.phrase!r} at {_at(hit.start)} (call leg ends at {_at(leg.duration)})",
            f"The {label} was heard.",
            (hit,),
        )
    if hits:
        detail = (
            f"{label} heard at {_at(hits[-1].start)}, not in the last"
            f" {settings.closing_seconds:g} s (leg ends at {_at(leg.duration)})"
        )
        return CheckResult(
            check,
            False,
            detail,
            f"Listen to the end of the call: the {label} came early.",
            (hits[-1],),
        )
    return CheckResult(
        check,
        False,
        f"no {label} heard",
        f"Listen to the last {settings.closing_seconds:g} s: the {label} may be missing.",
    )


def check_script(
    legs: Sequence[AgentLeg],
    settings: ScriptSettings,
    staff_no: str | None = None,
    *,
    announced: bool = False,
) -> list[CheckResult]:
    """All script checks: the greeting on the first agent leg, the closing on the last."""
    if not legs:
        return unchecked("no transcript of the agent's voice")
    last = len(legs) - 1
    return [
        check_greeting(legs[0], settings, staff_no, announced=announced),
        check_forbidden(legs, settings),
        _check_closing(
            CLOSING, "closing question", legs[-1], settings.phrases.closing, settings, last
        ),
        _check_closing(GOODBYE, "goodbye", legs[-1], settings.phrases.goodbye, settings, last),
    ]


def unchecked(reason: str) -> list[CheckResult]:
    """The script checks that could not run, and why (no model, no transcript yet)."""
    return [
        CheckResult(check, None, reason, "Listen to the recording: this was not checked.")
        for check in SCRIPT_CHECKS
    ]


def compliance_checks(
    *,
    dead_air_seconds: float | None,
    dead_air_flagged: bool,
    agent_hung_up_first: bool | None,
    voice_recorded: bool = True,
) -> list[CheckResult]:
    """The checks that need no ASR, from the call's compliance facts (`call_compliance`)."""
    if not voice_recorded:
        dead_air = CheckResult(
            DEAD_AIR, None, "the agent's voice was not recorded", "Listen to the opening."
        )
    elif dead_air_seconds is None:
        dead_air = CheckResult(
            DEAD_AIR,
            False,
            "the agent never spoke",
            "Listen to the call: the agent may have stayed silent.",
        )
    else:
        dead_air = CheckResult(
            DEAD_AIR,
            not dead_air_flagged,
            f"the agent first spoke {dead_air_seconds:.1f} s after the connection",
            "Listen to the opening: dead air before the greeting."
            if dead_air_flagged
            else "Prompt start.",
        )
    if agent_hung_up_first is None:
        order = CheckResult(HANGUP_ORDER, None, "hang-up order unknown", "Not checked.")
    elif agent_hung_up_first:
        order = CheckResult(
            HANGUP_ORDER,
            False,
            "the agent hung up first",
            "The customer should hang up first (确认对方先收线后再挂断电话).",
        )
    else:
        order = CheckResult(HANGUP_ORDER, True, "the customer hung up first", "Nothing to review.")
    return [dead_air, order]
