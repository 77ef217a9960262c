"""Database fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is not optional: when it is unreachable its tests FAIL, with the
fix in the message. Set CALLCENTER_TEST_POSTGRES=off to skip them on purpose.
The admin URL is CALLCENTER_TEST_PG_URL; one fresh database per test session
is created there and dropped at the end, and its schema is reset per test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.calls.store import CallRepository
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.kernel.migrate import upgrade_to_head

DEFAULT_PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
T = TypeVar("T")


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on its own loop in a thread: sync fixtures must not touch the test's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_connect(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
        timeout=5,
    )


async def _pg_execute(url: URL, *statements: str) -> None:
    connection = await _pg_connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def reset_postgres(url: str) -> None:
    """Empty the PostgreSQL database at `url` (its public schema dropped and made again)."""
    run_in_thread(
        _pg_execute(
            make_url(url),
            "DROP SCHEMA public CASCADE",
            "CREATE SCHEMA public",
        )
    )


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (asyncpg URL)."""
    if os.environ.get("CALLCENTER_TEST_POSTGRES", "").strip().lower() == "off":
        pytest.skip("PostgreSQL tests disabled explicitly by CALLCENTER_TEST_POSTGRES=off")
    admin = make_url(os.environ.get("CALLCENTER_TEST_PG_URL", DEFAULT_PG_ADMIN_URL))
    name = f"cc_test_{secrets.token_hex(4)}"
    try:
        run_in_thread(_pg_execute(admin, f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {admin.render_as_string(hide_password=True)} "
            f"({type(exc).__name__}: {exc}). Start it (pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start), point CALLCENTER_TEST_PG_URL at one, or set "
            "CALLCENTER_TEST_POSTGRES=off to skip the PostgreSQL tests explicitly.",
            pytrace=False,
        )
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        run_in_thread(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a temp SQLite file, or the session's PostgreSQL database reset."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'callcenter.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    reset_postgres(url)
    return url


@pytest.fixture
async def migrated_db_url(db_url: str) -> str:
    await upgrade_to_head(db_url)
    return db_url


@pytest.fixture
async def sessions(migrated_db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The migrated database's session factory; its engine is disposed after the test."""
    engine = create_engine(migrated_db_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def repository(sessions: async_sessionmaker[AsyncSession]) -> CallRepository:
    return CallRepository(sessions)
