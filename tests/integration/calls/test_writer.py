"""CallWriter against real databases, including real outages.

PostgreSQL outages go through a TCP proxy that is cut (listener closed,
connections aborted) and restored. The SQLite outage is another connection
holding an exclusive lock, as a backup tool or a stuck process would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.calls.record import CallRecord
from callcenter.calls.store import CallRepository
from callcenter.calls.writer import CallWriter, WriterClosedError
from callcenter.config import DatabaseConfig
from callcenter.kernel.db import create_engine, create_session_factory
from tests.support.records import make_record
from tests.support.tcp_proxy import TcpProxy

WRITER_LOGGER = "callcenter.calls.writer"


class Outage(Protocol):
    url: str

    async def cut(self) -> None: ...
    async def restore(self) -> None: ...


class ProxyOutage:
    def __init__(self, proxy: TcpProxy, url: str) -> None:
        self.proxy = proxy
        self.url = url

    async def cut(self) -> None:
        await self.proxy.cut()

    async def restore(self) -> None:
        await self.proxy.restore()


class SqliteLockOutage:
    """Holds SQLite's write lock from a second connection (BEGIN EXCLUSIVE)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._path = make_url(url).database or ""
        self._holder: sqlite3.Connection | None = None

    async def cut(self) -> None:
        holder = sqlite3.connect(self._path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        self._holder = holder

    async def restore(self) -> None:
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None


@pytest.fixture
async def outage(migrated_db_url: str) -> AsyncIterator[Outage]:
    url = make_url(migrated_db_url)
    if url.get_backend_name() == "sqlite":
        lock = SqliteLockOutage(migrated_db_url)
        yield lock
        await lock.restore()
        return
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        yield ProxyOutage(proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    finally:
        await proxy.close()


def writer_engine(url: str) -> AsyncEngine:
    # A short busy timeout so a locked SQLite fails in milliseconds, not 5 s.
    return create_engine(url, sqlite_busy_timeout_ms=50, connect_timeout=2.0)


def config(tmp_path: Path, **changes: Any) -> DatabaseConfig:
    base = DatabaseConfig(
        batch_size=20,
        flush_interval=0.05,
        retry_min=0.02,
        retry_max=0.2,
        spool_path=tmp_path / "spool" / "calls.jsonl",
    )
    return dataclasses.replace(base, **changes)


class RecordingRepository(CallRepository):
    """The real repository, noting each batch it was given."""

    batches: list[list[CallRecord]]

    async def upsert_calls(self, records: Sequence[CallRecord]) -> None:
        self.batches.append(list(records))
        await super().upsert_calls(records)


def records(prefix: str, n: int) -> list[CallRecord]:
    return [make_record(f"{prefix}.{i}", arrived_at=1_700_000_000.0 + i) for i in range(n)]


async def wait_until(predicate: Any, seconds: float = 10.0) -> None:
    """Poll writer counters, which have no event to await."""
    async with asyncio.timeout(seconds):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


async def test_batches_many_records_into_few_transactions(
    repository: CallRepository, migrated_db_url: str, tmp_path: Path
) -> None:
    engine = create_engine(migrated_db_url)
    commits = 0

    @event.listens_for(engine.sync_engine, "commit")
    def count_commit(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    sink = RecordingRepository(create_session_factory(engine))
    sink.batches = []
    writer = CallWriter(sink, config(tmp_path, batch_size=50, flush_interval=30.0))
    await writer.start()
    try:
        submitted = records("batch", 500)
        for record in submitted:
            writer.submit(record)
        async with asyncio.timeout(20):
            await writer.flush()
    finally:
        await writer.close()
        await engine.dispose()

    assert await repository.count() == 500
    assert writer.written == 500
    assert writer.backlog == 0
    assert 10 <= commits <= 11  # 500 / batch_size 50, +1 if a flush split a batch
    assert all(len(b) <= 50 for b in sink.batches)
    # submission order is kept across batches
    assert [r.linkedid for b in sink.batches for r in b] == [r.linkedid for r in submitted]


async def test_pending_versions_of_one_call_collapse_to_the_latest(
    repository: CallRepository, migrated_db_url: str, tmp_path: Path
) -> None:
    engine = create_engine(migrated_db_url)
    sink = RecordingRepository(create_session_factory(engine))
    sink.batches = []
    writer = CallWriter(sink, config(tmp_path, flush_interval=30.0))
    await writer.start()
    try:
        first, other = make_record("call.a", talk_seconds=1.0), make_record("call.b")
        latest = dataclasses.replace(first, talk_seconds=3.0)
        for record in (first, other, dataclasses.replace(first, talk_seconds=2.0), latest):
            writer.submit(record)
        assert writer.backlog == 2
        async with asyncio.timeout(10):
            await writer.flush()
    finally:
        await writer.close()
        await engine.dispose()

    assert [[r.linkedid for r in b] for b in sink.batches] == [["call.b", "call.a"]]
    assert await repository.get("call.a") == latest
    assert writer.written == 2


async def test_flush_interval_writes_a_partial_batch(
    repository: CallRepository, migrated_db_url: str, tmp_path: Path
) -> None:
    engine = create_engine(migrated_db_url)
    writer = CallWriter(
        CallRepository(create_session_factory(engine)), config(tmp_path, batch_size=1000)
    )
    await writer.start()
    try:
        writer.submit(make_record("lonely"))
        await wait_until(lambda: writer.written == 1, seconds=5)
    finally:
        await writer.close()
        await engine.dispose()
    assert await repository.get("lonely") == make_record("lonely")


async def test_outage_buffers_then_writes_everything_exactly_once(
    outage: Outage,
    repository: CallRepository,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=WRITER_LOGGER)
    engine = writer_engine(outage.url)
    writer = CallWriter(CallRepository(create_session_factory(engine)), config(tmp_path))
    await writer.start()
    submitted = records("outage", 150)
    try:
        for record in submitted[:50]:
            writer.submit(record)
        async with asyncio.timeout(10):
            await writer.flush()
        assert writer.healthy

        await outage.cut()
        for record in submitted[50:]:
            writer.submit(record)
            await asyncio.sleep(0.002)
        await wait_until(lambda: writer.failed_attempts >= 3)
        assert not writer.healthy
        assert writer.backlog > 0
        # a newer version of an already written call, submitted during the outage
        changed = dataclasses.replace(submitted[0], talk_seconds=1234.5)
        writer.submit(changed)

        await outage.restore()
        async with asyncio.timeout(20):
            await writer.flush()
        assert writer.healthy
        assert writer.backlog == 0
    finally:
        await writer.close()
        await engine.dispose()

    assert await repository.count() == 150
    listed = await repository.list_calls(limit=1000)
    assert [r.linkedid for r in listed] == [r.linkedid for r in submitted]
    assert listed[1:] == submitted[1:]
    assert listed[0] == changed
    messages = [r.getMessage() for r in caplog.records if r.name == WRITER_LOGGER]
    assert sum("writes failing" in m for m in messages) == 1
    assert sum("writes recovered" in m for m in messages) == 1


async def test_close_during_outage_spools_and_next_start_replays(
    outage: Outage,
    repository: CallRepository,
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path)
    engine = writer_engine(outage.url)
    try:
        await outage.cut()
        first_run = CallWriter(CallRepository(create_session_factory(engine)), cfg)
        await first_run.start()
        spooled = records("spool", 30)
        for record in spooled:
            first_run.submit(record)
        await first_run.close(timeout=0.5)
        with pytest.raises(WriterClosedError):
            first_run.submit(make_record("too.late"))
        lines = cfg.spool_path.read_text(encoding="utf-8").splitlines()
        assert [CallRecord.from_json(json.loads(line)) for line in lines] == spooled

        # Still down: the replayed records stay spooled, rewritten, not duplicated.
        second_run = CallWriter(CallRepository(create_session_factory(engine)), cfg)
        newer = dataclasses.replace(spooled[3], talk_seconds=777.0)
        second_run.submit(newer)
        await second_run.start()
        assert second_run.backlog == 30
        await wait_until(lambda: second_run.failed_attempts >= 1)
        assert len(cfg.spool_path.read_text(encoding="utf-8").splitlines()) == 30
        await second_run.close(timeout=0.3)
        lines = cfg.spool_path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 30
        assert CallRecord.from_json(json.loads(lines[-1])) == newer

        await outage.restore()
        third_run = CallWriter(CallRepository(create_session_factory(engine)), cfg)
        await third_run.start()
        async with asyncio.timeout(20):
            await third_run.flush()
        await wait_until(lambda: cfg.spool_path.stat().st_size == 0)
        await third_run.close()
    finally:
        await engine.dispose()

    assert await repository.count() == 30
    assert await repository.get(newer.linkedid) == newer
    assert await repository.get(spooled[0].linkedid) == spooled[0]
    assert not cfg.spool_path.with_name(cfg.spool_path.name + ".rejected").exists()


async def test_unreadable_spool_lines_are_set_aside(
    repository: CallRepository, migrated_db_url: str, tmp_path: Path
) -> None:
    cfg = config(tmp_path)
    cfg.spool_path.parent.mkdir(parents=True)
    good = make_record("good")
    cfg.spool_path.write_text(
        json.dumps(good.to_json()) + "\n" + '{"linkedid": "half-writ', encoding="utf-8"
    )
    engine = create_engine(migrated_db_url)
    writer = CallWriter(CallRepository(create_session_factory(engine)), cfg)
    try:
        await writer.start()
        async with asyncio.timeout(10):
            await writer.flush()
        await writer.close()
    finally:
        await engine.dispose()

    assert await repository.get("good") == good
    rejected = cfg.spool_path.with_name(cfg.spool_path.name + ".rejected")
    assert rejected.read_text(encoding="utf-8") == '{"linkedid": "half-writ\n'


async def test_close_leaves_no_task_and_flush_after_close_fails(
    migrated_db_url: str, tmp_path: Path
) -> None:
    engine = create_engine(migrated_db_url)
    writer = CallWriter(CallRepository(create_session_factory(engine)), config(tmp_path))
    try:
        await writer.start()
        writer.submit(make_record("x"))
        await writer.close()
    finally:
        await engine.dispose()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "callcenter.call-writer"]
    assert writer.written == 1
    assert not writer._config.spool_path.exists()
    with pytest.raises(WriterClosedError):
        await writer.flush()
