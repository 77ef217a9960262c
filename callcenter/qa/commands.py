"""`callcenter qa draw|verify-draw|assign|samples`, and the handler of `callcenter recordings
purge`: straight to the database.

Like `callcenter migrate`, these open the configured database themselves, so
a month's draw needs no running service.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from callcenter.config import Config
from callcenter.kernel.commands import Subparsers, run_with_sessions
from callcenter.kernel.errors import Kind
from callcenter.qa.errors import QaError
from callcenter.qa.runtime import QaState, make_qa

T = TypeVar("T")


def _by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _run(config: Config, job: Callable[[QaState], Awaitable[T]]) -> T:
    return run_with_sessions(config.database.url, lambda sessions: job(make_qa(config, sessions)))


def _fail(exc: QaError) -> int:
    print(f"callcenter: {exc.error_id}: {exc.message}", file=sys.stderr)
    if exc.details:
        print(f"  {json.dumps(exc.details, ensure_ascii=False)}", file=sys.stderr)
    return 1


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_qa_draw(config: Config, args: argparse.Namespace) -> int:
    async def job(qa: QaState) -> dict[str, Any]:
        outcome = await qa.draws.draw(args.month, by=_by(), assign=not args.no_assign)
        return outcome.to_json()

    try:
        result = _run(config, job)
    except QaError as exc:
        return _fail(exc)
    if args.json:
        _print(result)
        return 0
    draw = result["draw"]
    print(
        f"draw {draw['id']} for {draw['month']}: {len(result['samples'])} samples from"
        f" {draw['candidates']} candidate calls (seed {draw['seed']}, {draw['algorithm']})"
    )
    for s in result["samples"]:
        reasons = ",".join(s["reasons"])
        print(f"  #{s['id']:<6} {s['agent']:<8} {s['linkedid']:<24} {reasons:<30} {s['inspector']}")
    return 0


def cmd_qa_verify(config: Config, args: argparse.Namespace) -> int:
    async def job(qa: QaState) -> dict[str, Any]:
        return (await qa.draws.verify_draw(args.draw_id)).to_json()

    try:
        result = _run(config, job)
    except QaError as exc:
        return _fail(exc)
    if args.json:
        _print(result)
    else:
        verdict = "reproduced" if result["ok"] else "DIFFERS"
        print(f"draw {result['draw_id']}: {verdict}")
        print(f"  stored seed and candidates give the stored picks: {result['reproduced']}")
        print(f"  samples table holds exactly those picks: {result['samples_match']}")
        print(f"  database still yields the stored candidate set: {result['candidates_match']}")
        for line in result["differences"]:
            print(f"  {line}")
    return 0 if result["ok"] else 1


def _due(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise QaError(Kind.INVALID, "bad-field", "--due needs an ISO time with its offset", got=raw)
    return parsed.timestamp()


def cmd_qa_assign(config: Config, args: argparse.Namespace) -> int:
    async def job(qa: QaState) -> Any:
        if args.auto:
            if not args.month:
                raise QaError(Kind.INVALID, "month-invalid", "--auto needs --month YYYY-MM")
            rows = await qa.evaluations.rows(month=args.month, status="unassigned")
            return await qa.assignments.auto_assign([r.sample.id for r in rows], by=_by())
        if args.sample_id is None or not args.inspectors:
            raise QaError(
                Kind.INVALID, "inspectors-invalid", "give a sample id and inspectors, or --auto"
            )
        assignments = await qa.assignments.assign(
            args.sample_id, list(args.inspectors), due_at=_due(args.due), by=_by()
        )
        return [a.to_json() for a in assignments]

    try:
        result = _run(config, job)
    except QaError as exc:
        return _fail(exc)
    _print(result)
    return 0


def cmd_qa_samples(config: Config, args: argparse.Namespace) -> int:
    async def job(qa: QaState) -> list[dict[str, Any]]:
        rows = await qa.evaluations.rows(
            month=args.month, inspector=args.inspector, status=args.status
        )
        return [r.to_json(datetime.now().timestamp()) for r in rows]

    try:
        rows = _run(config, job)
    except QaError as exc:
        return _fail(exc)
    for r in rows:
        print(
            f"#{r['id']:<6} {r['month']} {r['agent']:<8} {r['linkedid']:<24} {r['reason']:<20}"
            f" {r['inspector'] or '-':<12} {r['status']}"
        )
    return 0


def cmd_recordings_purge(config: Config, args: argparse.Namespace) -> int:
    """`recordings purge` (handed to `callcenter.recordings.commands`): through QA's wiring,
    as samples under inspection hold their recordings past retention."""
    result = _run(config, lambda qa: qa.purge(dry_run=args.dry_run))
    if args.json:
        _print(result.to_json())
    else:
        print(result.describe())
    return 0


def add_commands(subparsers: Subparsers) -> None:
    qa = subparsers.add_parser(
        "qa", help="quality inspection: draws, assignments (direct to the database)"
    )
    qa_sub = qa.add_subparsers(dest="qa_action", required=True)
    draw = qa_sub.add_parser("draw", help="draw a month's samples (tops up a month drawn before)")
    draw.add_argument("--month", required=True, help="YYYY-MM, in CALLCENTER_TIMEZONE")
    draw.add_argument("--no-assign", action="store_true", help="leave the samples unassigned")
    draw.add_argument("--json", action="store_true")
    draw.set_defaults(func=cmd_qa_draw)
    verify = qa_sub.add_parser(
        "verify-draw", help="re-run a stored draw from its seed and candidates and compare"
    )
    verify.add_argument("draw_id", type=int)
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_qa_verify)
    assign = qa_sub.add_parser(
        "assign", help="assign a sample to inspectors (several: calibration), or --auto"
    )
    assign.add_argument("sample_id", type=int, nargs="?")
    assign.add_argument("inspectors", nargs="*", help="usernames of QA inspectors")
    assign.add_argument("--due", help="ISO time with its offset (default: CALLCENTER_QA_DUE_DAYS)")
    assign.add_argument(
        "--auto", action="store_true", help="round-robin the month's unassigned samples"
    )
    assign.add_argument("--month", help="with --auto: YYYY-MM")
    assign.set_defaults(func=cmd_qa_assign)
    samples = qa_sub.add_parser("samples", help="list samples")
    samples.add_argument("--month")
    samples.add_argument("--inspector")
    samples.add_argument("--status", choices=["unassigned", "assigned", "submitted", "locked"])
    samples.set_defaults(func=cmd_qa_samples)
