"""The plain-text transcript export: utterances per speaker, both legs in time order."""

from __future__ import annotations

from typing import Any

from callcenter.asr.transcript_export import transcript_text, utterances


def _words(*items: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"word": w, "start": s, "end": e} for w, s, e in items]


def test_a_pause_splits_an_utterance_and_legs_interleave_by_time() -> None:
    transcript = {
        "agent": _words(("您好", 0.5, 0.9), ("工號", 1.0, 1.3), ("再見", 9.0, 9.4)),
        "caller": _words(("我", 3.0, 3.2), ("想", 3.3, 3.5)),
    }
    assert utterances(transcript) == [
        (0.5, "agent", "您好 工號"),
        (3.0, "caller", "我 想"),
        (9.0, "agent", "再見"),
    ]


def test_the_text_names_speakers_times_and_the_checks_as_suggestions() -> None:
    view = {
        "linkedid": "1.2",
        "asr": {"status": "done"},
        "transcript": {"agent": _words(("hello", 65.2, 65.6)), "caller": []},
        "checks": [
            {"check": "greeting", "passed": False, "detail": "no company name"},
            {"check": "closing", "passed": None, "detail": ""},
        ],
    }
    text = transcript_text(view)
    assert "[01:05.2] 座席/agent: hello" in text
    assert "- greeting: FAIL no company name" in text
    assert "- closing: n/a" in text


def test_no_transcript_says_so() -> None:
    view = {"linkedid": "1.2", "asr": {"status": "off"}, "transcript": None, "checks": []}
    assert "(no transcript)" in transcript_text(view)
