"""`callcenter recordings check|purge|catalogue`: straight to the database and the files.

Like `callcenter migrate`, these open the configured database themselves, so
a retention run needs no running service; the service's own housekeeping
does the same purge and catalogue work on its schedule.
"""

from __future__ import annotations

import argparse
import json

from callcenter.config import Config
from callcenter.kernel.commands import Subparsers, run_with_sessions


def add_commands(subparsers: Subparsers) -> None:
    rec = subparsers.add_parser("recordings", help="recording checks")
    rec_sub = rec.add_subparsers(dest="recordings_action", required=True)
    check = rec_sub.add_parser(
        "check", help="recordings with no call, answered calls with no recording"
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_recordings_check)
    purge = rec_sub.add_parser(
        "purge",
        help="delete recordings older than CALLCENTER_RECORDING_RETENTION_DAYS (calls are kept)",
    )
    purge.add_argument("--dry-run", action="store_true", help="only list what would go")
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(func=cmd_recordings_purge)
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


def cmd_recordings_purge(config: Config, args: argparse.Namespace) -> int:
    # Through QA's wiring: samples under inspection hold their recordings past retention.
    from callcenter.qa.runtime import make_qa

    result = run_with_sessions(
        config.database.url, lambda sessions: make_qa(config, sessions).purge(dry_run=args.dry_run)
    )
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(result.describe())
    return 0


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
