"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from callcenter.kernel import migrate
from callcenter.kernel.db import create_engine
from callcenter.schema import Base


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


def _table_names(connection: Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_empty_database_to_head(db_url: str) -> None:
    assert await migrate.current_revision(db_url) is None
    assert not await migrate.is_at_head(db_url)

    await migrate.upgrade_to_head(db_url)

    assert await migrate.current_revision(db_url) == migrate.head_revision()
    assert await migrate.is_at_head(db_url)
    assert {"calls", "recording_segments", "alembic_version"} <= await _inspect(
        db_url, _table_names
    )


async def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    await migrate.upgrade_to_head(db_url)
    await migrate.upgrade_to_head(db_url)
    assert await migrate.is_at_head(db_url)


async def test_autogenerate_finds_no_difference_with_models(db_url: str) -> None:
    await migrate.upgrade_to_head(db_url)
    assert await _inspect(db_url, _diff) == []


async def test_autogenerate_detects_a_missing_schema(db_url: str) -> None:
    """Guards the test above: the comparison must be able to see a difference."""
    assert await _inspect(db_url, _diff) != []


async def test_downgrade_to_base_removes_the_tables(db_url: str) -> None:
    await migrate.upgrade_to_head(db_url)

    await migrate.downgrade(db_url, "base")

    assert await migrate.current_revision(db_url) is None
    assert not {"calls", "recording_segments"} & await _inspect(db_url, _table_names)
