"""`callcenter asr transcribe|check`: the backlog from the command line, and one call's checks.

Both work on the database directly (like `recordings check`), so they run
with or without the service. `transcribe` is resumable: every leg is stored
when done, and Ctrl-C keeps what is finished. Which calls are sampled is
QA's query, handed in where the CLI lists the features' commands.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import time
from typing import Any, TextIO

from callcenter.asr.engine import AsrError
from callcenter.asr.policy import SampledCalls
from callcenter.asr.service import (
    RunReport,
    Transcriber,
    load_script_settings,
    run_checks,
    transcript_view,
    vosk_factory,
)
from callcenter.asr.store import AsrRepository, LegJob
from callcenter.asr.vosk_engine import NO_MODEL_MESSAGE
from callcenter.asr.worker import TranscriptionPool
from callcenter.config import Config, ConfigError
from callcenter.kernel.commands import Subparsers

SCHEMA_HINT = "is the database migrated? run `callcenter migrate`"


class ProgressBar:
    """A plain-text bar on stderr: redrawn in place on a terminal, one line per leg otherwise."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._drawn = False

    def line(self, report: RunReport, now: float) -> str:
        total = max(report.total, 1)
        filled = round(self.width * report.done / total)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = max(now - report.started, 1e-9)
        text = f"[{bar}] {report.done}/{report.total} legs"
        if report.failed:
            text += f" ({report.failed} failed)"
        text += f", {report.audio_seconds:.0f} s of audio"
        if report.done:
            text += f", {report.audio_seconds / elapsed:.1f}x real time"
            left = (report.total - report.done) * elapsed / report.done
            text += f", about {int(left // 60)}:{int(left % 60):02d} left"
        return text

    def update(self, report: RunReport, job: LegJob | None = None) -> None:
        text = self.line(report, time.time())
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
            self._drawn = True
        else:
            suffix = f"  {job.linkedid} {job.leg}" if job is not None else ""
            self.stream.write(text + suffix + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def cmd_asr_transcribe(
    config: Config, args: argparse.Namespace, *, sampled: SampledCalls | None
) -> int:
    if config.asr_model_path is None:
        print(f"callcenter: {NO_MODEL_MESSAGE}", file=sys.stderr)
        return 2
    try:
        factory = vosk_factory(config)
        settings = load_script_settings(config)
    except (AsrError, ConfigError) as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    include_all = True if args.all else False if args.sampled else config.asr.transcribe_all
    bar = ProgressBar()

    async def run() -> RunReport:
        from callcenter.kernel.db import create_engine, create_session_factory

        engine = create_engine(config.database.url)
        pool = TranscriptionPool(
            factory, workers=args.workers or config.asr.workers, max_pending=config.asr.max_pending
        )
        repository = AsrRepository(create_session_factory(engine), sampled=sampled)
        transcriber = Transcriber(
            repository, pool, config.recordings_dir, settings, include_all=include_all
        )
        try:
            if args.retry_failed:
                print(
                    f"{await repository.retry_failed()} failed legs queued again", file=sys.stderr
                )
            return await transcriber.run_once(limit=args.limit, progress=bar.update)
        finally:
            await pool.close()
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except KeyboardInterrupt:
        bar.close()
        print(
            "interrupted: the legs finished so far are stored; run again to resume", file=sys.stderr
        )
        return 130
    except Exception as exc:  # a database that is down or not migrated
        bar.close()
        print(f"callcenter: transcription failed: {exc} ({SCHEMA_HINT})", file=sys.stderr)
        return 1
    bar.close()
    which = "all answered calls" if include_all else "sampled calls"
    if report.total == 0:
        print(f"nothing to transcribe ({which})")
        return 0
    print(
        f"{report.transcribed} legs transcribed, {report.failed} failed, "
        f"{report.audio_seconds:.0f} s of audio in {report.finished - report.started:.0f} s, "
        f"{report.checked_calls} calls checked ({which})"
    )
    return 1 if report.failed else 0


_MARK = {True: "ok  ", False: "FAIL", None: "n/a "}


def _print_view(view: dict[str, Any]) -> None:
    asr = view["asr"]
    print(f"call {view['linkedid']}: transcript {asr['status']} ({asr['message']})")
    for leg in view["legs"]:
        print(
            f"  {leg['leg']:<6} {leg['uniqueid']}: {leg['status']}, {leg['words']} words,"
            f" {leg['duration'] or 0:.1f} s" + (f" ({leg['error']})" if leg["error"] else "")
        )
    for check in view["checks"]:
        print(f"{_MARK[check['passed']]} {check['check']}: {check['detail']}")
        if check["passed"] is not True:
            print(f"       suggestion: {check['suggestion']}")
        for e in check.get("evidence", ()):
            said = " ".join(w["word"] for w in e["words"])
            print(f"       {e['start']:7.2f}-{e['end']:.2f} s  {e['element']}: {said}")


def cmd_asr_check(config: Config, args: argparse.Namespace) -> int:
    configured = config.asr_model_path is not None
    if not configured:
        print(f"callcenter: {NO_MODEL_MESSAGE}", file=sys.stderr)
    try:
        settings = load_script_settings(config)
    except ConfigError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2

    async def run() -> dict[str, Any] | None:
        from callcenter.kernel.db import create_engine, create_session_factory

        engine = create_engine(config.database.url)
        sessions = create_session_factory(engine)
        try:
            repository = AsrRepository(sessions)
            if not await repository.call_exists(args.linkedid):
                return None
            # Re-run on the stored words: a changed phrase list applies to old calls too.
            await run_checks(repository, settings, args.linkedid, now=time.time())
            return await transcript_view(sessions, args.linkedid, asr_model_configured=configured)
        finally:
            await engine.dispose()

    try:
        view = asyncio.run(run())
    except Exception as exc:
        print(f"callcenter: {exc} ({SCHEMA_HINT})", file=sys.stderr)
        return 1
    if view is None:
        print(f"callcenter: no call with linkedid {args.linkedid}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        _print_view(view)
    return 0


def add_commands(subparsers: Subparsers, *, sampled: SampledCalls | None) -> None:
    """`sampled`: the calls `transcribe` does first (only those with `--sampled`)."""
    asr = subparsers.add_parser("asr", help="transcription backlog and script checks")
    asr_sub = asr.add_subparsers(dest="asr_action", required=True)
    tr = asr_sub.add_parser(
        "transcribe", help="transcribe the backlog of voice recordings (resumable)"
    )
    which = tr.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every answered call")
    which.add_argument("--sampled", action="store_true", help="only calls sampled for QA")
    tr.add_argument("--limit", type=int, help="at most this many legs")
    tr.add_argument("--workers", type=int, help="worker processes (default CALLCENTER_ASR_WORKERS)")
    tr.add_argument("--retry-failed", action="store_true", help="try failed legs again")
    tr.set_defaults(func=functools.partial(cmd_asr_transcribe, sampled=sampled))
    check = asr_sub.add_parser("check", help="run and print one call's script checks")
    check.add_argument("linkedid")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_asr_check)
