"""`callcenter ami replay|capture`: AMI transcripts in, call records out, with no service."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from callcenter.config import Config
from callcenter.kernel.commands import Subparsers
from callcenter.kernel.db import safe_url

if TYPE_CHECKING:
    from callcenter.calls.record import CallRecord


def add_commands(subparsers: Subparsers) -> None:
    ami = subparsers.add_parser("ami", help="AMI tools: replay and capture transcripts")
    ami_sub = ami.add_subparsers(dest="ami_action", required=True)
    rep = ami_sub.add_parser("replay", help="print one JSON call record per line from transcripts")
    rep.add_argument("files", nargs="+", help="raw AMI captures or JSON event lists")
    rep.add_argument("--db", help="write the records to this database URL instead of stdout")
    rep.set_defaults(func=cmd_ami_replay)
    cap = ami_sub.add_parser("capture", help="record the live AMI stream, raw bytes")
    cap.add_argument("--out", required=True)
    cap.add_argument("--seconds", type=float, default=60.0)
    cap.set_defaults(func=cmd_ami_capture)


def cmd_ami_replay(config: Config, args: argparse.Namespace) -> int:
    from callcenter.ami.transcript import TranscriptError
    from callcenter.calls.replay import ReplayReport, replay
    from callcenter.calls.tracker import CallTracker

    tracker = CallTracker(config.ring, config.tracker)
    report = ReplayReport()
    records: list[CallRecord] = []
    status = 0
    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.is_file():
            print(f"replay: cannot read {path}: no such file", file=sys.stderr)
            status = 2
    readable = [p for p in paths if p.is_file()]
    try:
        for record in replay(readable, tracker, report):
            if args.db:
                records.append(record)
            else:
                sys.stdout.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
    except TranscriptError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        status = 2
    for path, error in report.errors:
        print(f"replay: {path}: {error.describe()}; skipped", file=sys.stderr)
    if report.open_calls:
        print(
            f"replay: {len(report.open_calls)} calls still open at the end of the transcript "
            f"(not printed): {', '.join(report.open_calls[:10])}",
            file=sys.stderr,
        )
    if args.db and records:
        asyncio.run(_write_records(args.db, records))
        print(f"replay: wrote {len(records)} call records to {safe_url(args.db)}", file=sys.stderr)
    print(f"replay: {report.events} events, {len(report.errors)} malformed", file=sys.stderr)
    return status


async def _write_records(url: str, records: Sequence[CallRecord]) -> None:
    from callcenter.calls.store import CallRepository
    from callcenter.kernel.db import create_engine, create_session_factory
    from callcenter.kernel.migrate import upgrade_to_head

    await upgrade_to_head(url)
    engine = create_engine(url)
    try:
        repository = CallRepository(create_session_factory(engine))
        batch = list(records)
        for start in range(0, len(batch), 500):
            await repository.upsert_calls(batch[start : start + 500])
    finally:
        await engine.dispose()


def cmd_ami_capture(config: Config, args: argparse.Namespace) -> int:
    from callcenter.ami.client import AmiClient
    from callcenter.ami.transcript import WireRecorder

    recorder = WireRecorder(Path(args.out))

    async def capture() -> None:
        client = AmiClient(config.ami, raw_sink=recorder)
        task = asyncio.create_task(client.run(), name="ami-capture")
        try:
            await asyncio.wait_for(asyncio.shield(task), args.seconds)
        except TimeoutError:
            pass
        finally:
            await client.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)

    try:
        asyncio.run(capture())
    except KeyboardInterrupt:
        pass
    finally:
        recorder.close()
    print(f"captured {recorder.bytes_written} bytes to {args.out}", file=sys.stderr)
    return 0
