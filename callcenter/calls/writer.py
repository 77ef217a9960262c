"""Batched, outage-tolerant writing of call records.

The call tracker runs on the event loop's hot path and must never wait for
the database, so `submit()` only buffers. One named background task writes
the buffer in batches; while the database is down the batch stays buffered
and is retried with exponential backoff. Writes are idempotent upserts, so a
retry after an unacknowledged commit duplicates nothing. Whatever is still
unwritten at shutdown goes to a JSONL spool that the next `start()` replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from callcenter.calls.record import CallRecord
from callcenter.config import DatabaseConfig

logger = logging.getLogger(__name__)


class CallSink(Protocol):
    """What the writer needs from the repository (lets benchmarks wrap it)."""

    async def upsert_calls(self, records: Sequence[CallRecord]) -> None: ...


class WriterClosedError(RuntimeError):
    error_id = "call-writer-closed"


@dataclass(slots=True)
class _Pending:
    seq: int
    record: CallRecord


class CallWriter:
    """Buffers submitted call records and writes them in batches in the background."""

    def __init__(self, sink: CallSink, config: DatabaseConfig) -> None:
        self._sink = sink
        self._config = config
        # linkedid -> latest version; dict order is submission order of the latest
        # version (resubmitting moves a linkedid to the end), so the first entry
        # always holds the oldest unwritten sequence number.
        self._pending: dict[str, _Pending] = {}
        self._seq = 0
        self._wake = asyncio.Event()
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._flush_target = 0
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._deadline: float | None = None
        self._healthy = True
        self._consecutive_failures = 0
        self._spool_seq: int | None = None  # records up to here came from the spool file
        self.written = 0
        self.failed_attempts = 0

    @property
    def backlog(self) -> int:
        return len(self._pending)

    @property
    def healthy(self) -> bool:
        """False from the first failed write until the next successful one."""
        return self._healthy

    def submit(self, record: CallRecord) -> None:
        """Buffer `record` for writing; never blocks, never touches the database."""
        if self._closing:
            raise WriterClosedError(
                f"call record {record.linkedid} submitted after the writer was closed"
            )
        current = self._pending.get(record.linkedid)
        if record.reconstructed and current is not None and not current.record.reconstructed:
            return  # the live version waiting to be written knows more
        self._seq += 1
        self._pending.pop(record.linkedid, None)
        self._pending[record.linkedid] = _Pending(self._seq, record)
        # Wake the task when the buffer stops being empty (starts the flush
        # interval) and when a full batch is ready.
        if len(self._pending) == 1 or len(self._pending) >= self._config.batch_size:
            self._wake.set()

    async def start(self) -> None:
        """Replay a spool left by an earlier run, then start the background task."""
        if self._task is not None:
            raise RuntimeError("CallWriter.start() called twice")
        spooled = await asyncio.to_thread(_read_spool, self._config.spool_path)
        if spooled:
            logger.info(
                "replaying %s call records spooled to %s by an earlier run",
                len(spooled),
                self._config.spool_path,
            )
            self._prepend(spooled)
        self._task = asyncio.create_task(self._run(), name="callcenter.call-writer")
        self._task.add_done_callback(self._on_task_done)

    def _prepend(self, records: list[CallRecord]) -> None:
        """Put spooled records before anything already submitted; newer versions win."""
        current = self._pending
        self._pending = {}
        for record in records:
            if record.linkedid not in current:
                self._seq += 1
                self._pending.pop(record.linkedid, None)
                self._pending[record.linkedid] = _Pending(self._seq, record)
        self._spool_seq = self._seq
        # Renumber what was submitted before start() so sequence order matches dict order.
        for linkedid, entry in current.items():
            self._seq += 1
            self._pending[linkedid] = _Pending(self._seq, entry.record)

    async def flush(self) -> None:
        """Return once every record submitted before this call is written.

        Waits through an outage (wrap it in `asyncio.timeout` to bound it).
        """
        if self._task is None:
            raise RuntimeError("CallWriter.flush() before start()")
        if self._task.done():
            raise WriterClosedError("the call writer is stopped")
        target = self._seq
        if self._written_up_to(target):
            return
        waiter = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((target, waiter))
        self._flush_target = max(self._flush_target, target)
        self._wake.set()
        await waiter

    # A timeout parameter, not the caller's asyncio.timeout: cancelling close()
    # from outside would skip the spool and lose the buffered records.
    async def close(self, timeout: float = 5.0) -> None:
        """Write what is buffered for up to `timeout` seconds, spool the rest, stop the task."""
        if self._closed:
            return
        self._closing = True
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + timeout
        self._wake.set()
        task = self._task
        if task is not None:
            # A write stuck in a hung connection is cancelled; its batch is still
            # in _pending and goes to the spool (a replay of a committed batch is
            # a harmless upsert).
            done, _ = await asyncio.wait({task}, timeout=timeout + 1.0)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._closed = True
        remaining = [entry.record for entry in self._pending.values()]
        if remaining:
            rewrite = self._spool_seq is not None
            await asyncio.to_thread(_write_spool, self._config.spool_path, remaining, rewrite)
            logger.warning(
                "database unavailable at shutdown: %s call records spooled to %s",
                len(remaining),
                self._config.spool_path,
            )

    def _written_up_to(self, seq: int) -> bool:
        first = next(iter(self._pending.values()), None)
        return first is None or first.seq > seq

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._closing:
                if not self._pending or self._time_left(loop) <= 0:
                    return
            elif not self._pending:
                await self._wake.wait()
                self._wake.clear()
                continue
            elif len(self._pending) < self._config.batch_size and not self._flush_wanted():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._config.flush_interval):
                        await self._wake.wait()
                self._wake.clear()
            batch = list(itertools.islice(self._pending.values(), self._config.batch_size))
            if not batch:
                continue
            try:
                await self._sink.upsert_calls([entry.record for entry in batch])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._on_failure(exc, loop)
                continue
            await self._on_success(batch)

    def _flush_wanted(self) -> bool:
        return not self._written_up_to(self._flush_target)

    def _time_left(self, loop: asyncio.AbstractEventLoop) -> float:
        return float("inf") if self._deadline is None else self._deadline - loop.time()

    async def _on_success(self, batch: list[_Pending]) -> None:
        for entry in batch:
            current = self._pending.get(entry.record.linkedid)
            # A newer version submitted during the write stays pending.
            if current is entry:
                del self._pending[entry.record.linkedid]
        self.written += len(batch)
        if not self._healthy:
            logger.info(
                "call log writes recovered after %s failed attempts; %s records still buffered",
                self._consecutive_failures,
                len(self._pending),
            )
        self._healthy = True
        self._consecutive_failures = 0
        if self._spool_seq is not None and self._written_up_to(self._spool_seq):
            await asyncio.to_thread(_truncate_spool, self._config.spool_path)
            self._spool_seq = None
        self._wake_flushers()

    def _wake_flushers(self) -> None:
        waiting = []
        for target, waiter in self._flush_waiters:
            if waiter.done():  # the caller gave up (timeout, cancellation)
                continue
            if self._written_up_to(target):
                waiter.set_result(None)
            else:
                waiting.append((target, waiter))
        self._flush_waiters = waiting

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("call writer task failed", exc_info=task.exception())
        for _, waiter in self._flush_waiters:
            if not waiter.done():
                waiter.set_exception(
                    WriterClosedError("the call writer stopped before the flush completed")
                )
        self._flush_waiters = []

    async def _on_failure(self, exc: Exception, loop: asyncio.AbstractEventLoop) -> None:
        self.failed_attempts += 1
        self._consecutive_failures += 1
        if self._healthy:
            logger.warning(
                "call log writes failing, buffering and retrying with backoff: %s: %s",
                type(exc).__name__,
                exc,
            )
            self._healthy = False
        else:
            logger.debug("call log write retry failed: %s", exc)
        delay = min(
            self._config.retry_max,
            # (capped exponent: during a shutdown with the database down the
            # retries come fast, and 2**1024 does not fit in a float)
            self._config.retry_min * 2.0 ** min(self._consecutive_failures - 1, 30),
        )
        delay = min(delay, max(self._time_left(loop), 0.0))
        # Only close() cuts the backoff short; new submissions do not hammer a
        # database that is down.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                while not self._closing:
                    await self._wake.wait()
                    self._wake.clear()


def _read_spool(path: Path) -> list[CallRecord]:
    """Records from the spool file; lines that do not parse are set aside, not dropped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records: list[CallRecord] = []
    bad: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            records.append(CallRecord.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            bad.append(line)
    if bad:
        rejected = path.with_name(path.name + ".rejected")
        with rejected.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in bad)
        logger.error("%s unreadable lines in call spool %s moved to %s", len(bad), path, rejected)
    return records


def _write_spool(path: Path, records: list[CallRecord], rewrite: bool) -> None:
    """Append records to the spool, or replace it when it holds records now re-buffered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records)
    if rewrite:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    else:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())


def _truncate_spool(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.truncate(path, 0)
