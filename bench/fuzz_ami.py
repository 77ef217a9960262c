"""1,000,000 mutated AMI frames through FrameParser and CallTracker (issue 19).

Mutations of the recorded transcripts in tests/fixtures/ami (see tests/support/ami_fuzz.py:
hostile header values such as `Timestamp: inf`, flipped and inserted bytes, lost, doubled,
truncated and spliced frames), half of all frames mutated, fixed seed. Prints frames/s,
exceptions (must be 0), open calls (bounded: calls with no live leg or no event are
expired), tracker and parser frame errors, RSS before/after and the peak, and the rate
against the same pipeline over unmutated frames measured in the same run (the baseline).

    .venv/bin/python bench/fuzz_ami.py [--frames 1000000] [--seed 19] [--rate 0.5]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.calls.tracker import CallTracker  # noqa: E402
from tests.support.ami_fuzz import FuzzReport, fuzz  # noqa: E402


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (or its peak, VmHWM), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(frames: int, seed: int, rate: float) -> tuple[float, FuzzReport, CallTracker]:
    tracker = CallTracker()
    gc.collect()
    started = time.perf_counter()

    def progress(report: FuzzReport) -> None:
        print(
            f"  {report.frames:>9,} frames, {tracker.open_calls} open, {rss_mb():.1f} MB RSS",
            file=sys.stderr,
        )

    report = fuzz(frames, seed=seed, rate=rate, tracker=tracker, progress=progress)
    return time.perf_counter() - started, report, tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--baseline-frames", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--rate", type=float, default=0.5)
    args = parser.parse_args()
    # The tracker warns about bad frames (rate-limited); the counts below say it all.
    logging.basicConfig(level=logging.ERROR)

    base_seconds, base, _ = timed(args.baseline_frames, args.seed, 0.0)
    base_rate = base.frames / base_seconds
    rss_before = rss_mb()
    seconds, report, tracker = timed(args.frames, args.seed, args.rate)
    rss_after = rss_mb()
    rate = report.frames / seconds
    print(
        f"{report.frames:,} frames ({report.mutated:,} mutated) in {seconds:.1f} s:"
        f" {rate:,.0f} frames/s, {rate / base_rate:.2f}x the unmutated pipeline"
        f" ({base_rate:,.0f} frames/s over {base.frames:,})"
    )
    print(
        f"exceptions {report.exceptions}; records {report.record_count:,}"
        f" ({tracker.expired_calls:,} expired); open calls at most {report.max_open_calls},"
        f" {tracker.open_calls} at the end; frame errors: tracker {tracker.frame_errors:,},"
        f" parser {report.parser_errors:,}"
    )
    print(
        f"RSS {rss_before:.1f} -> {rss_after:.1f} MB, peak {rss_mb('VmHWM'):.1f} MB"
        " (the peak includes the baseline run)"
    )
    for text in report.tracebacks:
        print(text, file=sys.stderr)
    print(
        json.dumps(
            {
                "frames": report.frames,
                "mutated": report.mutated,
                "frames_per_s": round(rate),
                "vs_unmutated": round(rate / base_rate, 3),
                "exceptions": report.exceptions,
                "max_open_calls": report.max_open_calls,
                "open_calls_end": tracker.open_calls,
                "records": report.record_count,
                "expired": tracker.expired_calls,
                "tracker_frame_errors": tracker.frame_errors,
                "parser_errors": report.parser_errors,
                "rss_before_mb": round(rss_before, 1),
                "rss_after_mb": round(rss_after, 1),
                "rss_peak_mb": round(rss_mb("VmHWM"), 1),
            }
        )
    )
    if report.exceptions:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
