"""`callcenter recordings check|purge|catalogue`: straight to the database and the files.

Like `callcenter migrate`, these open the configured database themselves, so
a retention run needs no running service; the service's own housekeeping
does the same purge and catalogue work on its schedule.

`purge` is handed in (`callcenter.qa.commands.cmd_recordings_purge`, wired in
`callcenter.cli`): samples under inspection hold their recordings past
retention, and QA knows which.
"""

from __future__ import annotations

import argparse
import json

from callcenter.config import Config
from callcenter.kernel.commands import Handler, Subparsers, run_with_sessions


def add_commands(subparsers: Subparsers, *, purge: Handler) -> None:
    rec = subparsers.add_parser("recordings", help="recording checks")
    rec_sub = rec.add_subparsers(dest="recordings_action", required=True)
    check = rec_sub.add_parser(
        "check", help="recordings with no call, answered calls with no recording"
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_recordings_check)
    purge_cmd = rec_sub.add_parser(
        "purge",
        help="delete recordings older than CALLCENTER_RECORDING_RETENTION_DAYS (calls are kept)",
    )
    purge_cmd.add_argument("--dry-run", action="store_true", help="only list what would go")
    purge_cmd.add_argument("--json", action="store_true")
    purge_cmd.set_defaults(func=purge)
    catalogue = rec_sub.add_parser(
        "catalogue", help="measure (duration, size, sha256) recordings not catalogued yet"
    )
    catalogue.add_argument("--older-than", type=float, default=120.0, help="seconds since the call")
    catalogue.set_defaults(func=cmd_recordings_catalogue)


def cmd_recordings_check(config: Config, args: argparse.Namespace) -> int:
    from callcenter.calls.recording_check import check_recordings
    from callcenter.recordings.store import RecordingRepository

    report = run_with_sessions(
        config.database.url,
        lambda sessions: check_recordings(
            sessions, config.recordings_dir, RecordingRepository(sessions).deleted_paths
        ),
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.describe())
    return 0 if report.ok else 1


def cmd_recordings_catalogue(config: Config, args: argparse.Namespace) -> int:
    from callcenter.recordings.catalog import RecordingCatalog
    from callcenter.recordings.store import RecordingRepository

    catalogued = run_with_sessions(
        config.database.url,
        lambda sessions: RecordingCatalog(
            RecordingRepository(sessions), config.recordings_dir
        ).backfill(older_than=args.older_than),
    )
    print(f"{catalogued} recording files catalogued")
    return 0
