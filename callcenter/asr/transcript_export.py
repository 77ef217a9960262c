"""A transcript as plain text for export: one line per utterance, both legs in time order.

Works on the view `transcript_view` returns, whose words are already masked, so
an export never carries a phone or ID number the screen would hide.
"""

from __future__ import annotations

from typing import Any

# A pause longer than this starts a new line for the same speaker.
UTTERANCE_GAP = 1.0
SPEAKERS = {"agent": "座席/agent", "caller": "客戶/customer"}


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes):02d}:{rest:04.1f}"


def utterances(transcript: dict[str, list[dict[str, Any]]]) -> list[tuple[float, str, str]]:
    """(start, leg, text) per utterance, both legs merged by start time."""
    lines: list[tuple[float, str, str]] = []
    for leg, words in transcript.items():
        current: list[str] = []
        start = last_end = 0.0
        for word in sorted(words, key=lambda w: float(w["start"])):
            begin = float(word["start"])
            if current and begin - last_end > UTTERANCE_GAP:
                lines.append((start, leg, " ".join(current)))
                current = []
            if not current:
                start = begin
            current.append(str(word["word"]))
            last_end = float(word["end"])
        if current:
            lines.append((start, leg, " ".join(current)))
    return sorted(lines, key=lambda line: (line[0], line[1]))


def transcript_text(view: dict[str, Any]) -> str:
    header = [f"call {view['linkedid']}", f"asr: {view['asr']['status']}"]
    transcript = view.get("transcript")
    if not transcript:
        return "\n".join([*header, "(no transcript)", ""])
    body = [
        f"[{_clock(start)}] {SPEAKERS.get(leg, leg)}: {text}"
        for start, leg, text in utterances(transcript)
    ]
    checks = [
        f"- {c['check']}: {'ok' if c['passed'] else 'n/a' if c['passed'] is None else 'FAIL'}"
        f" {c.get('detail') or ''}".rstrip()
        for c in view.get("checks", [])
    ]
    return "\n".join([*header, "", *body, "", "checks (suggestions):", *checks, ""])
