"""`callcenter serve` and `callcenter migrate`: the whole app, and the schema it needs.

They belong to no one feature (serve runs every feature's setup through
`create_app`; migrate runs the one Alembic history for all of them), so they
live beside `app.py` rather than in a feature package. `serve` migrates first
unless told not to, which is why the two sit together.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from callcenter.config import Config
from callcenter.kernel.commands import Subparsers
from callcenter.kernel.db import safe_url

log = logging.getLogger("callcenter")


def add_commands(subparsers: Subparsers) -> None:
    serve = subparsers.add_parser("serve", help="run the backend against the configured Asterisk")
    serve.add_argument("--no-migrate", action="store_true", help="do not upgrade the database")
    serve.set_defaults(func=cmd_serve)

    migrate = subparsers.add_parser("migrate", help="upgrade the database to the latest schema")
    migrate.set_defaults(func=cmd_migrate)


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from callcenter.app import run
    from callcenter.kernel.migrate import upgrade_to_head

    if not args.no_migrate:
        asyncio.run(upgrade_to_head(config.database.url))
    log.info(
        "serving on http://%s:%s, AMI %s:%s, database %s",
        config.web.host,
        config.web.port,
        config.ami.host,
        config.ami.port,
        safe_url(config.database.url),
    )
    run(config)
    return 0


def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    from callcenter.kernel.migrate import current_revision, upgrade_to_head

    Path(config.state_dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade_to_head(config.database.url))
    revision = asyncio.run(current_revision(config.database.url))
    print(f"database {safe_url(config.database.url)} at revision {revision}")
    return 0
