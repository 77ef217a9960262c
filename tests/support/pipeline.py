"""The live call-log pipeline, in the test process, against the real test Asterisk.

The same parts `callcenter serve` wires (AmiClient -> CallLogService ->
CallTracker -> CallWriter -> database), with a short grace period and flush
interval so tests do not wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from callcenter.ami.client import AmiClient
from callcenter.calls.record import CallRecord
from callcenter.calls.service import CallLogService, TrailSource
from callcenter.calls.store import CallRepository
from callcenter.calls.tracker import CallTracker
from callcenter.calls.writer import CallWriter
from callcenter.config import Config, DatabaseConfig, TrackerConfig
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.kernel.supervisor import TaskSupervisor


class LivePipeline:
    def __init__(
        self, config: Config, database_url: str, spool: Path, *, trail: bool = False
    ) -> None:
        self.config = config
        self.engine = create_engine(database_url)
        self.repository = CallRepository(create_session_factory(self.engine))
        self.writer = CallWriter(
            self.repository,
            DatabaseConfig(url=database_url, flush_interval=0.1, spool_path=spool),
        )
        self.client = AmiClient(
            dataclasses.replace(config.ami, reconnect_min=0.2, reconnect_max=1.0)
        )
        self.tracker = CallTracker(config.ring, TrackerConfig(finalize_grace=1.0))
        self.service = CallLogService(
            self.client,
            self.tracker,
            self.writer,
            tick_interval=0.2,
            trail=TrailSource(config.trail_path, config.tracker.trail_lookback) if trail else None,
        )
        self.supervisor = TaskSupervisor()
        self._detach: Callable[[], None] | None = None

    async def start(self) -> None:
        await self.writer.start()
        self._detach = self.service.attach()
        self.supervisor.spawn("ami-connection", self.client.run())
        self.supervisor.spawn("calllog-ticks", self.service.run_ticks())
        await self.client.wait_connected(15)
        # The first resync must be done before calls are placed.
        deadline = time.monotonic() + 10
        while self.service.resyncs == 0:
            if time.monotonic() > deadline:
                raise AssertionError("call-log service did not resync after login")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await self.client.close()
        await self.supervisor.stop()
        if self._detach is not None:
            self._detach()
        await self.writer.close()
        await self.engine.dispose()

    async def wait_for_calls(self, count: int, within: float = 20.0) -> list[CallRecord]:
        """Wait until `count` calls are in the database (and no more arrive for a moment)."""
        deadline = time.monotonic() + within
        while True:
            await self.writer.flush()
            total = await self.repository.count()
            if total >= count:
                await asyncio.sleep(1.5)  # anything extra (a duplicate) would show up now
                await self.writer.flush()
                return await self.repository.list_calls(limit=1000, offset=0)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{total} call records after {within}s, expected {count}; "
                    f"open in tracker: {self.tracker.open_linkedids()}"
                )
            await asyncio.sleep(0.2)
