"""Transcription off the event loop: a bounded pool of worker processes.

Why processes: vosk decodes in C++ but holds the GIL around each call into
it, and one call can take minutes; a thread would stall the event loop's
Python work (AMI events, FastAGI replies) for as long. Each worker process
loads the model once (the pool's initializer), then takes files one by one.

Backpressure: at most `workers + max_pending` jobs are handed to the pool;
further `transcribe()` calls wait their turn, so a backlog of thousands of
legs is a loop over the database, not thousands of queued futures.

A worker that dies (segfault, OOM kill) breaks the whole
`ProcessPoolExecutor`: every job in it fails. The pool is then replaced and
each of those jobs retried once; a job whose retry dies too is reported as
`asr-worker-crashed`, and the next job gets a fresh pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from callcenter.asr.engine import AsrEngine, AsrError, Transcript

log = logging.getLogger(__name__)

# A picklable callable building the engine in the worker (a class, a module-level
# function, or a functools.partial of one), e.g. partial(VoskEngine, model_path).
EngineFactory = Callable[[], AsrEngine]
POOL_CLOSED = "asr-pool-closed"

# -- in the worker process ------------------------------------------------------------------

_engine: AsrEngine | None = None
_load_error: AsrError | None = None


def _load(factory: EngineFactory) -> None:
    """Pool initializer: load the model once per process.

    A failure is kept and raised by every job, rather than killing the
    process (which would look like a crash and be retried for nothing).
    """
    global _engine, _load_error
    # Ctrl-C in `callcenter asr transcribe` reaches the whole process group: the
    # parent stops the pool itself, a worker killed by it would look like a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _engine = factory()
    except AsrError as exc:
        _load_error = exc
    except Exception as exc:
        _load_error = AsrError("asr-model-invalid", f"the ASR engine did not load: {exc}")


def _run(path: str) -> Transcript:
    if _engine is None:
        raise _load_error or AsrError("asr-model-invalid", "the ASR engine is not loaded")
    try:
        return _engine.transcribe(Path(path))
    except AsrError:
        raise
    except Exception as exc:
        raise AsrError("asr-failed", f"{path}: the engine failed: {exc}") from None


# -- in the service ---------------------------------------------------------------------------


class TranscriptionPool:
    """`await pool.transcribe(path)` runs the engine in a worker process."""

    def __init__(
        self,
        factory: EngineFactory,
        *,
        workers: int = 1,
        max_pending: int = 2,
        start_method: str = "spawn",
    ) -> None:
        if workers < 1 or max_pending < 0:
            raise ValueError("workers must be at least 1 and max_pending not negative")
        self._factory = factory
        self.workers = workers
        self.capacity = workers + max_pending
        # spawn: the service is multi-threaded (database drivers, executors);
        # forking it could copy a lock held by another thread into the child.
        self._context = multiprocessing.get_context(start_method)
        self._slots = asyncio.Semaphore(self.capacity)
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._closed = False
        self.in_flight = 0
        self.waiting = 0
        self.completed = 0
        self.failed = 0
        self.crashes = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        if self._closed:
            raise AsrError(POOL_CLOSED, "the transcription pool is shut down")
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._context,
                initializer=_load,
                initargs=(self._factory,),
            )
        return self._executor, self._generation

    async def transcribe(self, path: Path) -> Transcript:
        """The file's transcript; `AsrError` for bad files, a broken model or repeated crashes."""
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            result = await self._with_retry(path)
        except Exception:
            self.failed += 1
            raise
        finally:
            self.in_flight -= 1
            self._slots.release()
        self.completed += 1
        return result

    async def _with_retry(self, path: Path) -> Transcript:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            executor, generation = self._current()
            try:
                return await loop.run_in_executor(executor, _run, str(path))
            except BrokenProcessPool:
                if self._closed:  # our own shutdown stopped it: not a crash
                    raise AsrError(POOL_CLOSED, "the transcription pool was shut down") from None
                self._replace(generation, path, attempt)
        raise AsrError(
            "asr-worker-crashed",
            f"the transcription worker died twice while transcribing {path}; the file is"
            " skipped (check it with `sox --i`, and the worker's memory limit)",
        )

    def _replace(self, generation: int, path: Path, attempt: int) -> None:
        """Once per broken pool (several jobs see the same crash): drop it, log it."""
        if generation != self._generation:
            return
        self.crashes += 1
        self._generation += 1
        broken, self._executor = self._executor, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        log.error(
            "ASR worker process died while transcribing %s (attempt %d); its jobs are retried"
            " once in a new worker",
            path,
            attempt,
        )

    async def close(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; running ones get `timeout` seconds, then the workers are killed.

        A leg cut off here has no transcript row yet, so it is simply transcribed
        again after the next start.
        """
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes: list[Any] = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(_join, processes, timeout)


def _join(processes: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            log.warning("ASR worker %s still busy at shutdown: terminated", process.pid)
            process.terminate()
            process.join(2.0)
