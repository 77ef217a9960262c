"""Async engine and session factory for the call log database.

Only async drivers work here (the event loop must never block on the
database): `sqlite+aiosqlite:///path` and `postgresql+asyncpg://...`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says which URL to write instead."""

    error_id = "database-url-invalid"


def parse_url(url: str | URL) -> URL:
    """Parse and check that `url` names an async driver we support."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"cannot parse database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise DatabaseUrlError(
            f"unknown database driver {parsed.drivername!r}; use "
            "sqlite+aiosqlite:///path/to.db or postgresql+asyncpg://user@host/dbname"
        ) from None
    if not getattr(dialect, "is_async", False):
        suggestion = ASYNC_DRIVERS.get(backend)
        hint = (
            f"use {backend}+{suggestion}://..."
            if suggestion
            else "use sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
        raise DatabaseUrlError(
            f"database URL driver {parsed.drivername!r} is synchronous and would block the "
            f"event loop; {hint}"
        )
    return parsed


def create_engine(
    url: str | URL,
    *,
    sqlite_busy_timeout_ms: int = 5000,
    connect_timeout: float = 10.0,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine with our connection settings.

    `pool_pre_ping` replaces connections killed by a database restart before
    they are used, so the first write after an outage does not fail needlessly.
    """
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "postgresql":
        # Without a connect timeout a black-holed server stalls each retry for 60 s.
        options["connect_args"] = {"timeout": connect_timeout}
    options.update(kwargs)
    engine = _create_async_engine(parsed, **options)
    if backend == "sqlite":
        _install_sqlite_pragmas(engine, sqlite_busy_timeout_ms)
    return engine


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    # WAL lets report queries read while the writer writes; busy_timeout turns a
    # briefly held lock into a wait instead of an immediate "database is locked".
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: rows are turned into CallRecords after commit.
    return async_sessionmaker(engine, expire_on_commit=False)
