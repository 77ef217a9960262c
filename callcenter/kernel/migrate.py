"""Run the Alembic migrations from async code (`callcenter migrate`, `doctor`).

Alembic's commands are synchronous and our env.py would otherwise call
`asyncio.run`, which fails inside a running loop. Here the migration runs in
`AsyncConnection.run_sync` on a connection we opened, handed to env.py through
`config.attributes["connection"]`, so it works from inside any event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from callcenter.kernel.db import create_engine

# The repository root (alembic.ini, migrations/) seen from callcenter/kernel/db/.
ROOT = Path(__file__).resolve().parents[2]


class MigrationsNotFoundError(RuntimeError):
    error_id = "migrations-not-found"


def alembic_config(url: str | None = None) -> Config:
    """The Alembic config of this repository, with `url` for env.py if given."""
    ini = ROOT / "alembic.ini"
    if not ini.is_file() or not (ROOT / "migrations" / "env.py").is_file():
        raise MigrationsNotFoundError(
            f"no alembic.ini and migrations/ under {ROOT}; run from a source checkout "
            "(or an image that ships them)"
        )
    config = Config(str(ini))
    if url is not None:
        config.attributes["url"] = url
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"expected one migration head, found {heads}")
    return str(heads[0])


async def _run_with_connection(url: str, action: Callable[[Config], Any]) -> None:
    config = alembic_config(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:

            def run(sync_connection: Connection) -> None:
                config.attributes["connection"] = sync_connection
                action(config)

            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade_to_head(url: str) -> None:
    """Bring the database at `url` to the newest schema (a no-op when it is there)."""
    await _run_with_connection(url, lambda config: command.upgrade(config, "head"))


async def downgrade(url: str, revision: str = "base") -> None:
    await _run_with_connection(url, lambda config: command.downgrade(config, revision))


async def current_revision(url: str) -> str | None:
    """The revision stamped in the database, None for a database never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def read(sync_connection: Connection) -> str | None:
                revision = MigrationContext.configure(sync_connection).get_current_revision()
                return None if revision is None else str(revision)

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def is_at_head(url: str) -> bool:
    return await current_revision(url) == head_revision()
