"""The writer's backoff after very many failures (a shutdown with the database down)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from callcenter.calls.record import CallRecord
from callcenter.calls.writer import CallWriter
from callcenter.config import DatabaseConfig


class _Down:
    async def upsert_calls(self, records: Sequence[CallRecord]) -> None:
        raise ConnectionRefusedError("database down")


async def test_thousands_of_consecutive_failures_do_not_overflow_the_backoff(
    tmp_path: Path,
) -> None:
    config = DatabaseConfig(retry_min=0.001, retry_max=0.002, spool_path=tmp_path / "s.jsonl")
    writer = CallWriter(_Down(), config)  # type: ignore[arg-type]
    writer._consecutive_failures = 5000  # what a fast retry loop reaches at shutdown
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(writer._on_failure(ConnectionRefusedError("down"), loop), 1.0)
    assert writer.failed_attempts == 1
    assert not writer.healthy
