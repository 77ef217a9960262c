"""Mutated AMI streams from the recorded transcripts, fed through parser and tracker.

Shared by the suite (tests/unit/calls/test_tracker_hostile.py: 20,000 frames, fixed seed)
and the benchmark (bench/fuzz_ami.py: 1,000,000 frames). Each round takes one recorded
transcript, gives its calls fresh Uniqueid/Linkedid values and moves its time on (so
rounds are distinct calls, as a day of traffic would be), then mutates frames: hostile
header values (`Timestamp: inf`, `nan`, negative, far future; ids; causes; durations),
flipped and inserted bytes, lost, doubled, truncated and spliced frames, lines dropped or
repeated, invalid UTF-8. The bytes go to `FrameParser.feed` in reads of random size and
every message to `CallTracker.feed`; the live service's tick (`expire(now)`) runs every
few hundred frames. Any exception is counted with its traceback, never raised.
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.ami.frame import FrameError, FrameParser
from callcenter.ami.message import Message
from callcenter.calls.record import CallRecord
from callcenter.calls.tracker import CallTracker

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ami"
_ID = re.compile(rb"^((?:Dest)?(?:Uniqueid|Linkedid): \d{9,11}\.\d{1,6})(?=\r|$)", re.MULTILINE)
_TIMESTAMP = re.compile(rb"^Timestamp: ([0-9.]+)(?=\r|$)", re.MULTILINE)
_BANNER = b"Asterisk Call Manager/11.0.0\r\n"
HOSTILE_VALUES: dict[bytes, tuple[bytes, ...]] = {
    b"Timestamp": (
        b"inf",
        b"-inf",
        b"nan",
        b"NaN",
        b"1e400",
        b"-1",
        b"0",
        b"",
        b"abc",
        b"99999999999",
        b"1e308",
        b"4102444801",
        b"946684799",
        b"17954267O8.1",
    ),
    b"Linkedid": (b"", b"<unknown>", b"x" * 300, b"1.1", b"\xff\xfe", b"0"),
    b"Uniqueid": (b"", b"<unknown>", b"y" * 300, b"1.1", b"\xe4\xb8"),
    b"DestUniqueid": (b"", b"z" * 200, b"1.2"),
    b"Cause": (b"\xc2\xb2", b"9" * 5000, b"-1", b"16 ", b"\xd9\xa1\xd9\xa2"),
    b"HoldTime": (b"inf", b"nan", b"-5", b"1e400", b"99999999999"),
    b"TalkTime": (b"inf", b"nan", b"-5", b"1e400", b"1e30"),
    b"ChannelState": (b"6", b"0", b"", b"66"),
    b"Event": (b"Hangup", b"Newchannel", b"Newstate", b"UserEvent", b"Shutdown", b"", b"Bogus"),
    b"UserEvent": (b"CallRecording", b"SystemAnswer", b"CallbackDial", b"AgentConnected"),
    b"Leg": (b"q" * 100, b"", b"mixed"),
    b"Reason": (b"caller", b"agent", b"transfer", b""),
}


@dataclass
class FuzzReport:
    frames: int = 0
    mutated: int = 0
    messages: int = 0
    records: list[CallRecord] = field(default_factory=list)
    record_count: int = 0
    exceptions: int = 0
    tracebacks: list[str] = field(default_factory=list)
    parser_errors: int = 0
    max_open_calls: int = 0


def load_transcripts() -> list[list[bytes]]:
    """Each recorded transcript's event frames (banner and action responses dropped)."""
    transcripts = []
    for path in sorted(FIXTURES.rglob("*.ami")):
        data = path.read_bytes()
        start = data.find(b"\r\n") + 2 if data.startswith(b"Asterisk Call Manager/") else 0
        frames = [f for f in data[start:].split(b"\r\n\r\n") if f.startswith(b"Event: ")]
        if frames:
            transcripts.append(frames)
    if not transcripts:
        raise FileNotFoundError(f"no AMI transcripts in {FIXTURES}")
    return transcripts


def _first_time(frames: list[bytes]) -> float:
    for frame in frames:
        found = _TIMESTAMP.search(frame)
        if found:
            return float(found.group(1))
    return 0.0


def _renumber(frames: list[bytes], round_no: int, shift: float) -> list[bytes]:
    """Fresh ids (a distinct call per round) and the round's time."""
    suffix = b"%07d" % round_no

    def ids(match: re.Match[bytes]) -> bytes:
        return match.group(1) + suffix

    def stamp(match: re.Match[bytes]) -> bytes:
        return b"Timestamp: %.6f" % (float(match.group(1)) + shift)

    return [_TIMESTAMP.sub(stamp, _ID.sub(ids, f)) for f in frames]


def mutate(frame: bytes, rng: random.Random, other: bytes) -> list[bytes]:
    """One frame's mutation: zero, one or two frames (lost, changed, doubled, spliced)."""
    choice = rng.randrange(14)
    lines = frame.split(b"\r\n")
    if choice <= 4:  # a hostile value for a header the tracker reads
        keys = [i for i, line in enumerate(lines) if line.split(b": ", 1)[0] in HOSTILE_VALUES]
        if keys:
            i = rng.choice(keys)
            key = lines[i].split(b": ", 1)[0]
            lines[i] = key + b": " + rng.choice(HOSTILE_VALUES[key])
        else:
            lines.append(b"Timestamp: " + rng.choice(HOSTILE_VALUES[b"Timestamp"]))
        return [b"\r\n".join(lines)]
    if choice == 5:  # a byte flipped
        if not frame:
            return [frame]
        i = rng.randrange(len(frame))
        return [frame[:i] + bytes([rng.randrange(256)]) + frame[i + 1 :]]
    if choice == 6:  # garbage inserted (line breaks, colons, invalid UTF-8)
        i = rng.randrange(len(frame) + 1)
        junk = rng.choice([b"\r\n", b": ", b"\xff\xfe", b"\r\n\r\n", b"Key", b"\x00", b"::"])
        return [frame[:i] + junk * rng.randrange(1, 4) + frame[i:]]
    if choice == 7:  # truncated
        return [frame[: rng.randrange(len(frame) + 1)]]
    if choice == 8:  # lost
        return []
    if choice == 9:  # doubled
        return [frame, frame]
    if choice == 10:  # a line dropped or repeated
        i = rng.randrange(len(lines))
        if rng.random() < 0.5 and len(lines) > 1:
            del lines[i]
        else:
            lines.insert(i, lines[i])
        return [b"\r\n".join(lines)]
    if choice == 11:  # spliced with another frame
        cut, cut2 = rng.randrange(len(frame) + 1), rng.randrange(len(other) + 1)
        return [frame[:cut] + other[cut2:]]
    if choice == 12:  # a very long value
        i = rng.randrange(len(lines))
        return [b"\r\n".join([*lines[:i], b"CallerIDName: " + b"\xe4\xba\x8c" * 3000, *lines[i:]])]
    return [frame]  # unchanged


def fuzz(
    frames: int,
    *,
    seed: int,
    rate: float = 0.5,
    tracker: CallTracker | None = None,
    keep_records: bool = False,
    progress: Callable[[FuzzReport], None] | None = None,
) -> FuzzReport:
    """Feed at least `frames` frames, a `rate` share of them mutated; see the module doc."""
    rng = random.Random(seed)
    transcripts = load_transcripts()
    tracker = tracker or CallTracker()
    report = FuzzReport()

    def on_error(error: FrameError) -> None:
        report.parser_errors += 1

    parser = FrameParser(on_error=on_error)
    pending = bytearray(_BANNER)
    round_no = 0
    base = _first_time(transcripts[0])
    now = base

    def flush() -> None:
        data = bytes(pending)
        pending.clear()
        i = 0
        while i < len(data):
            size = rng.choice((1, 7, 512, 4096, 65536))
            chunk = data[i : i + size]
            i += size
            try:
                messages = parser.feed(chunk)
            except Exception:  # counting is the point
                _count(report, traceback.format_exc())
                continue
            for message in messages:
                report.messages += 1
                _feed(tracker, message, report, keep_records)

    while report.frames < frames:
        template = transcripts[round_no % len(transcripts)]
        # Rounds follow each other a minute apart (of recorded time), like a busy day.
        shift = (now - _first_time(template)) + 60.0
        copy = _renumber(template, round_no, shift)
        round_no += 1
        for i, frame in enumerate(copy):
            if rng.random() < rate:
                out = mutate(frame, rng, copy[rng.randrange(len(copy))])
                report.mutated += 1
            else:
                out = [frame]
            for piece in out:
                pending += piece + b"\r\n\r\n"
            report.frames += 1
            if report.frames % 256 == 0:
                flush()
                found = _TIMESTAMP.search(frame)
                if found:
                    now = max(now, float(found.group(1)))
                _tick(tracker, now, report, keep_records)
                if progress is not None and report.frames % 100_000 == 0:
                    progress(report)
            if i == len(copy) - 1:
                found = _TIMESTAMP.search(frame)
                if found:
                    now = max(now, float(found.group(1)))
    flush()
    _tick(tracker, now + 24 * 3600.0, report, keep_records)
    for record in tracker.drain():
        _keep(report, record, keep_records)
    return report


def _feed(tracker: CallTracker, message: Message, report: FuzzReport, keep: bool) -> None:
    try:
        finished = tracker.feed(message)
    except Exception:  # counting is the point
        _count(report, traceback.format_exc())
        return
    for record in finished:
        _keep(report, record, keep)
    report.max_open_calls = max(report.max_open_calls, tracker.open_calls)


def _tick(tracker: CallTracker, now: float, report: FuzzReport, keep: bool) -> None:
    try:
        finished = tracker.expire(now)
    except Exception:  # counting is the point
        _count(report, traceback.format_exc())
        return
    for record in finished:
        _keep(report, record, keep)


def _keep(report: FuzzReport, record: CallRecord, keep: bool) -> None:
    report.record_count += 1
    if keep:
        report.records.append(record)


def _count(report: FuzzReport, text: str) -> None:
    report.exceptions += 1
    if len(report.tracebacks) < 5:
        report.tracebacks.append(text)
