"""Parser + tracker throughput against a raw split baseline, measured in the same run.

Builds a stream of at least --events events from the real transcripts in
tests/fixtures/ami (each copy gets fresh Uniqueid/Linkedid values, so every
copy is a distinct set of calls), then times:
  baseline  split frames and lines into dicts, nothing else
  parser    callcenter.ami.frame.FrameParser over 64 KiB reads
  pipeline  parser + CallTracker (the live service's hot path)

    .venv/bin/python bench/replay_throughput.py [--events 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.ami.frame import FrameParser, split_baseline  # noqa: E402
from callcenter.calls.tracker import CallTracker  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "ami"
_ID = re.compile(rb"\b(\d{9,11}\.\d{1,6})\b")
_ID_KEYS = (b"Uniqueid: ", b"Linkedid: ", b"DestUniqueid: ", b"DestLinkedid: ")


def load_events_only(path: Path) -> bytes:
    """The event frames of a transcript (banner and action responses dropped)."""
    data = path.read_bytes()
    start = data.find(b"\r\n") + 2 if data.startswith(b"Asterisk Call Manager/") else 0
    frames = [f for f in data[start:].split(b"\r\n\r\n") if f.startswith(b"Event: ")]
    return b"".join(f + b"\r\n\r\n" for f in frames)


def build_stream(min_events: int) -> tuple[bytes, int]:
    sources = sorted(FIXTURES.glob("*.ami"))
    if not sources:
        raise SystemExit(f"no transcripts in {FIXTURES}")
    template = b"".join(load_events_only(p) for p in sources)
    ids = sorted(
        {
            m.group(1)
            for line in template.split(b"\r\n")
            if line.startswith(_ID_KEYS)
            for m in [_ID.search(line)]
            if m
        }
    )
    per_copy = template.count(b"\r\n\r\n")
    copies = -(-min_events // per_copy)
    chunks = []
    for k in range(copies):
        mapping = {old: old + b"%06d" % k for old in ids}

        def renumber(m: re.Match[bytes], mapping: dict[bytes, bytes] = mapping) -> bytes:
            return mapping.get(m.group(1), m.group(1))

        chunks.append(_ID.sub(renumber, template))
    data = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(chunks)
    return data, per_copy * copies


def run_parser(data: bytes) -> int:
    parser = FrameParser()
    count = 0
    for i in range(0, len(data), 65536):
        count += len(parser.feed(data[i : i + 65536]))
    return count


def run_pipeline(data: bytes) -> int:
    parser = FrameParser()
    tracker = CallTracker()
    calls = 0
    for i in range(0, len(data), 65536):
        for message in parser.feed(data[i : i + 65536]):
            calls += len(tracker.feed(message))
    return calls + len(tracker.drain())


def best_of(repeat: int, fn: Callable[[bytes], int], data: bytes) -> tuple[float, int]:
    best = float("inf")
    result = 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn(data)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data, events = build_stream(args.events)
    base_t, base_n = best_of(args.repeat, split_baseline, data)
    parse_t, parse_n = best_of(args.repeat, run_parser, data)
    pipe_t, calls = best_of(args.repeat, run_pipeline, data)
    assert base_n == parse_n == events, (base_n, parse_n, events)
    rows = [
        ("baseline (raw split)", base_t, 1.0),
        ("FrameParser", parse_t, base_t / parse_t),
        ("FrameParser + CallTracker", pipe_t, base_t / pipe_t),
    ]
    print(f"{events} events, {len(data) / 1e6:.1f} MB, {calls} calls; best of {args.repeat}")
    print(f"{'path':28} {'events/s':>12} {'vs baseline':>12}")
    for name, seconds, ratio in rows:
        print(f"{name:28} {events / seconds:12,.0f} {ratio:11.2f}x")
    print(
        json.dumps(
            {
                "events": events,
                "calls": calls,
                "baseline_eps": round(events / base_t),
                "parser_eps": round(events / parse_t),
                "pipeline_eps": round(events / pipe_t),
                "parser_ratio": round(base_t / parse_t, 3),
                "pipeline_ratio": round(base_t / pipe_t, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
