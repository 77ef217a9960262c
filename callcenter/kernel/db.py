"""Async engine and session factory for the call log database.

Only async drivers work here (the event loop must never block on the
database): `sqlite+aiosqlite:///path` and `postgresql+asyncpg://...`.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

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
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            private_sqlite_file(Path(parsed.database))
        _install_sqlite_pragmas(engine, sqlite_busy_timeout_ms)
    return engine


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 (or tighten it), so its -wal and -shm are 0600 too.

    SQLite gives the journal files its database file's mode; the file holds
    every call, wrap-up note and account of the center.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        return  # a missing directory or no permission: SQLite's own error says it
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)


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


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


ENUM_LENGTH = 24  # longest value today: "answered_by_system" (18)


class UtcDateTime(TypeDecorator[datetime]):
    """A DateTime that only accepts aware values and always returns UTC-aware ones.

    SQLite has no time zone storage: values are written as naive UTC there and
    tagged UTC again when read, so both dialects hand back equal datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


# BIGINT on PostgreSQL (upserts burn sequence values); SQLite only
# autoincrements a column declared exactly INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upsert(dialect_name: str, table: sa.Table) -> Any:
    """The dialect's INSERT that supports ON CONFLICT (both SQLite and PostgreSQL have it)."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise UnsupportedDialectError(f"no upsert for database dialect {dialect_name!r}")


class UnsupportedDialectError(RuntimeError):
    error_id = "database-dialect-unsupported"


def safe_url(url: str) -> str:
    """The URL without its password, for what commands print and log and doctor shows."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
