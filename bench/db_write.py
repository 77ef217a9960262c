"""Write throughput of the call log: CallWriter vs a raw asyncpg COPY baseline.

    .venv/bin/python bench/db_write.py [--records N] [--batch-size B]

On a fresh, migrated PostgreSQL database (created on CALLCENTER_TEST_PG_URL,
default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres, dropped at the
end) it measures, in the same run:
  (a) CallWriter -> CallRepository batched upserts into `calls`;
  (b) asyncpg `copy_records_to_table` into scratch copies of `calls` and
      `recording_segments` (same rows: each call has two segments), in
      batches of the same size (one transaction each), the fastest way
      PostgreSQL takes rows, and once more as one single COPY;
then prints records/s and the ratio. The writer path on SQLite follows, for
information. Both paths include turning CallRecords into rows.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

from callcenter.calls.record import CallRecord, Direction, Outcome, Party, RecordingSegment
from callcenter.calls.store import CallRepository
from callcenter.calls.writer import CallWriter
from callcenter.config import DatabaseConfig
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.kernel.migrate import upgrade_to_head

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
COPY_COLUMNS = (
    "linkedid direction caller_number caller_name dialled_number queue arrived_at answered_at "
    "ended_at answer_seconds rings_to_answer answered_by agent agent_name hold_seconds "
    "talk_seconds hangup_first outcome hangup_cause notes"
).split()


def make_records(n: int) -> list[CallRecord]:
    t0 = 1_700_000_000.0
    out = []
    for i in range(n):
        lid = f"{t0 + i:.0f}.{i}"
        out.append(
            CallRecord(
                linkedid=lid,
                direction=Direction.INBOUND,
                caller_number=f"+49301{i:06d}",
                caller_name="張三" if i % 7 == 0 else "Ada Lovelace",
                dialled_number="600",
                queue="support",
                arrived_at=t0 + i,
                answered_at=t0 + i + 4.5,
                ended_at=t0 + i + 95.25,
                answer_seconds=4.5,
                rings_to_answer=1,
                answered_by=Party.AGENT,
                agent=f"2{i % 20:02d}",
                agent_name="Grace",
                hold_seconds=0.0,
                talk_seconds=90.75,
                hangup_first=Party.CALLER,
                outcome=Outcome.ANSWERED,
                hangup_cause=16,
                recordings=(
                    RecordingSegment(lid, f"{lid}-c", "caller", f"rec/{lid}-c.wav", t0 + i + 4.5),
                    RecordingSegment(lid, f"{lid}-a", "agent", f"rec/{lid}-a.wav", t0 + i + 4.5),
                ),
            )
        )
    return out


SEGMENT_COLUMNS = ["linkedid", "uniqueid", "leg", "path", "started_at"]


def dt(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, UTC)


def segment_rows(r: CallRecord) -> list[tuple[Any, ...]]:
    return [(s.linkedid, s.uniqueid, s.leg, s.path, dt(s.started_at)) for s in r.recordings]


def copy_row(r: CallRecord) -> tuple[Any, ...]:
    return (
        r.linkedid,
        r.direction.value,
        r.caller_number,
        r.caller_name,
        r.dialled_number,
        r.queue,
        dt(r.arrived_at),
        dt(r.answered_at),
        dt(r.ended_at),
        r.answer_seconds,
        r.rings_to_answer,
        r.answered_by and r.answered_by.value,
        r.agent,
        r.agent_name,
        r.hold_seconds,
        r.talk_seconds,
        r.hangup_first and r.hangup_first.value,
        r.outcome.value,
        r.hangup_cause,
        "[]",
    )


async def pg_connect(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
    )


async def bench_writer(url: str, records: list[CallRecord], batch_size: int) -> float:
    engine = create_engine(url)
    spool = Path(tempfile.mkdtemp(prefix="cc-bench-")) / "spool.jsonl"
    config = DatabaseConfig(url=url, batch_size=batch_size, spool_path=spool)
    writer = CallWriter(CallRepository(create_session_factory(engine)), config)
    await writer.start()
    try:
        started = time.perf_counter()
        for record in records:
            writer.submit(record)
        await writer.flush()
        elapsed = time.perf_counter() - started
    finally:
        await writer.close()
        await engine.dispose()
    assert writer.written == len(records), (writer.written, len(records))
    return len(records) / elapsed


async def bench_copy(url: URL, records: list[CallRecord], batch_size: int | None) -> float:
    conn = await pg_connect(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS calls_copy_baseline")
        await conn.execute("DROP TABLE IF EXISTS segments_copy_baseline")
        await conn.execute("CREATE TABLE calls_copy_baseline (LIKE calls INCLUDING ALL)")
        await conn.execute(
            "CREATE TABLE segments_copy_baseline (LIKE recording_segments INCLUDING ALL)"
        )
        step = batch_size or len(records)
        started = time.perf_counter()
        for i in range(0, len(records), step):
            batch = records[i : i + step]
            rows = [copy_row(r) for r in batch]
            segments = [s for r in batch for s in segment_rows(r)]
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "calls_copy_baseline", records=rows, columns=COPY_COLUMNS
                )
                await conn.copy_records_to_table(
                    "segments_copy_baseline", records=segments, columns=SEGMENT_COLUMNS
                )
        elapsed = time.perf_counter() - started
        count = await conn.fetchval("SELECT count(*) FROM calls_copy_baseline")
        assert count == len(records), count
    finally:
        await conn.close()
    return len(records) / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=DatabaseConfig().batch_size)
    args = parser.parse_args()

    records = make_records(args.records)
    admin = make_url(os.environ.get("CALLCENTER_TEST_PG_URL", DEFAULT_ADMIN_URL))
    name = f"cc_bench_{secrets.token_hex(4)}"
    admin_conn = await pg_connect(admin)
    await admin_conn.execute(f'CREATE DATABASE "{name}"')
    db = admin.set(drivername="postgresql+asyncpg", database=name)
    db_url = db.render_as_string(hide_password=False)
    print(f"{len(records)} records, batch size {args.batch_size}, PostgreSQL database {name}")
    try:
        await upgrade_to_head(db_url)
        writer_rate = await bench_writer(db_url, records, args.batch_size)
        # A second pass over the same rows: every upsert now updates (later versions).
        updated = [dataclasses.replace(r, talk_seconds=91.0) for r in records]
        update_rate = await bench_writer(db_url, updated, args.batch_size)
        copy_rate = await bench_copy(db, records, args.batch_size)
        copy_one_rate = await bench_copy(db, records, None)
    finally:
        await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin_conn.close()

    print(f"PostgreSQL  CallWriter upsert (insert)  {writer_rate:10.0f} records/s")
    print(f"PostgreSQL  CallWriter upsert (update)  {update_rate:10.0f} records/s")
    print(f"PostgreSQL  asyncpg COPY, same batches  {copy_rate:10.0f} records/s")
    print(f"PostgreSQL  asyncpg COPY, one batch     {copy_one_rate:10.0f} records/s")
    print(f"ratio writer insert / COPY same batches {writer_rate / copy_rate:10.3f}")

    with tempfile.TemporaryDirectory(prefix="cc-bench-") as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade_to_head(sqlite_url)
        sqlite_rate = await bench_writer(sqlite_url, records, args.batch_size)
    print(f"SQLite      CallWriter upsert (insert)  {sqlite_rate:10.0f} records/s  (information)")


if __name__ == "__main__":
    asyncio.run(main())
