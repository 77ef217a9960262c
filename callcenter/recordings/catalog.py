"""The recordings catalogue sink: measures each finished call's files once.

A `RecordSink` (like `ComplianceSink`): `submit` only queues the record; one
worker (run by the app's TaskSupervisor) waits for MixMonitor to close each
file, then reads the WAV header and hashes the file in a thread, so the event
loop never blocks on disk. Files catalogued before (a call rebuilt again
from the trail) are not measured twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from callcenter.calls.record import CallRecord, RecordingSegment
from callcenter.kernel.clock import Clock
from callcenter.recordings.recording import Recording, leg_of
from callcenter.recordings.store import RecordingRepository
from callcenter.recordings.wav import WavError, file_digest, read_wav_info

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000


def measure(root: Path, segment: RecordingSegment, created_at: float) -> Recording:
    """Blocking: header and checksum of one file (run in a thread)."""
    path = root / segment.path
    size, sha256 = file_digest(path)
    try:
        info = read_wav_info(path)
        duration: float | None = round(info.duration_seconds, 3)
        rate: int | None = info.sample_rate
    except WavError as exc:
        log.warning("recording %s: %s; duration unknown", segment.path, exc)
        duration, rate = None, None
    return Recording(
        id=None,
        linkedid=segment.linkedid,
        uniqueid=segment.uniqueid,
        leg=leg_of(segment.leg),
        source=segment.leg,
        path=segment.path,
        duration_seconds=duration,
        size_bytes=size,
        sha256=sha256,
        sample_rate=rate,
        created_at=created_at,
    )


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


class RecordingCatalog:
    def __init__(
        self,
        repository: RecordingRepository,
        recordings_dir: Path,
        *,
        file_wait: float = 10.0,
        settle: float = 0.3,
        clock: Clock = time.time,
    ) -> None:
        self._repo = repository
        self._dir = recordings_dir
        self._file_wait = file_wait
        self._settle = settle
        self._clock = clock
        self._queue: asyncio.Queue[CallRecord] = asyncio.Queue(QUEUE_LIMIT)
        self.catalogued = 0
        self.missing = 0

    @property
    def root(self) -> Path:
        return self._dir

    def submit(self, record: CallRecord) -> None:
        if not record.recordings:
            return
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            log.warning(
                "recordings catalogue backlog full; call %s is left to `recordings check`",
                record.linkedid,
            )

    async def run(self) -> None:
        while True:
            record = await self._queue.get()
            try:
                await self.catalogue(record)
            except Exception:
                log.exception("recordings of call %s not catalogued", record.linkedid)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Until every queued record is catalogued (needs `run` going)."""
        await self._queue.join()

    async def backfill(self, older_than: float = 120.0) -> int:
        """Catalogue the files of finished calls the sink never saw (a restart, a full queue)."""
        done = 0
        cursor: int | None = 0
        while cursor is not None:
            records, cursor = await self._repo.uncatalogued(
                self._clock() - older_than, after=cursor
            )
            for record in records:
                done += len(await self.catalogue(record, wait=False))
        return done

    async def catalogue(self, record: CallRecord, *, wait: bool = True) -> list[Recording]:
        known = await self._repo.known_paths(record.linkedid)
        fresh = [s for s in record.recordings if s.path not in known]
        measured: list[Recording] = []
        for segment in fresh:
            path = self._dir / segment.path
            found = await self._settled(path) if wait else await asyncio.to_thread(path.is_file)
            if not found:
                self.missing += 1
                log.warning("recording %s of call %s not found", segment.path, record.linkedid)
                continue
            created = segment.started_at or record.arrived_at or self._clock()
            try:
                measured.append(await asyncio.to_thread(measure, self._dir, segment, created))
            except OSError as exc:
                self.missing += 1
                log.warning("recording %s unreadable: %s", segment.path, exc)
        await self._repo.add(measured, self._clock())
        self.catalogued += len(measured)
        return measured

    async def _settled(self, path: Path) -> bool:
        """MixMonitor closes its files a moment after the hang-up: wait for a stable size."""
        deadline = time.monotonic() + self._file_wait
        last = await asyncio.to_thread(_size, path)
        while time.monotonic() < deadline:
            await asyncio.sleep(self._settle)
            size = await asyncio.to_thread(_size, path)
            if size is not None and size == last:
                return True
            last = size
        return last is not None
