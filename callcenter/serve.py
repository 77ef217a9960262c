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
import os

from callcenter.config import Config, ensure_state_dir, require_secrets, with_install_secrets
from callcenter.kernel.commands import Subparsers
from callcenter.kernel.db import safe_url

log = logging.getLogger("callcenter")


def add_commands(subparsers: Subparsers) -> None:
    serve = subparsers.add_parser("serve", help="run the backend against the configured Asterisk")
    serve.add_argument("--no-migrate", action="store_true", help="do not upgrade the database")
    serve.set_defaults(func=cmd_serve)

    migrate = subparsers.add_parser("migrate", help="upgrade the database to the latest schema")
    migrate.set_defaults(func=cmd_migrate)


# What the service writes (database, spool, tokens) is for its own user only.
SERVICE_UMASK = 0o077


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from callcenter.app import run
    from callcenter.kernel.migrate import upgrade_to_head

    os.umask(SERVICE_UMASK)
    # Read again from the same environment, now with the per-install secrets file.
    config = with_install_secrets()
    require_secrets(config, what="callcenter serve")
    warn_if_exposed(config)
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


def warn_if_exposed(config: Config) -> bool:
    """Say loudly when the web host is reachable beyond this machine over plain HTTP."""
    if config.web.loopback or config.web.tls_proxy:
        return False
    log.warning(
        "SECURITY: CALLCENTER_WEB_HOST=%s serves plain HTTP beyond this machine: passwords, "
        "session cookies and call data cross the network in clear. Put a TLS-terminating "
        "proxy in front and set CALLCENTER_TLS_PROXY=1, or bind to 127.0.0.1",
        config.web.host,
    )
    return True


def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    from callcenter.kernel.migrate import current_revision, upgrade_to_head

    os.umask(SERVICE_UMASK)
    ensure_state_dir(config.state_dir)
    asyncio.run(upgrade_to_head(config.database.url))
    revision = asyncio.run(current_revision(config.database.url))
    print(f"database {safe_url(config.database.url)} at revision {revision}")
    return 0
