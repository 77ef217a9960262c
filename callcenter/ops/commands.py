"""`callcenter doctor`: every check an operator would otherwise run by hand, in one report."""

from __future__ import annotations

import argparse
import asyncio
import logging

from callcenter.config import Config
from callcenter.kernel.commands import Subparsers


def add_commands(subparsers: Subparsers) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check Asterisk, AMI, dialplan, disk, database, ASR model and clock"
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    doctor.add_argument(
        "--timeout", type=float, default=5.0, help="seconds per network check (default 5)"
    )
    doctor.set_defaults(func=cmd_doctor)


def cmd_doctor(config: Config, args: argparse.Namespace) -> int:
    from callcenter.ops.doctor import exit_status, format_json, format_plain, run_checks

    if not args.verbose:
        # The doctor reports AMI failures itself; the client's own log lines would repeat them.
        logging.getLogger("callcenter.ami").setLevel(logging.CRITICAL)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    results = asyncio.run(run_checks(config, timeout=args.timeout))
    print(format_json(results) if args.json else format_plain(results))
    return exit_status(results)
