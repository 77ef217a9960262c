"""The transcription pool with real worker processes and a scripted engine.

(The real engine in the pool: tests/integration/asr/test_engine.py.)
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from pathlib import Path

import pytest

from callcenter.asr.engine import AsrError
from callcenter.asr.worker import POOL_CLOSED, TranscriptionPool
from tests.support.asr_engines import ScriptedEngine
from tests.support.audio import silence_wav


def wav(directory: Path, name: str, seconds: float = 0.2) -> Path:
    return silence_wav(directory / f"{name}.wav", seconds)


async def test_model_loaded_once_per_worker_process(tmp_path: Path) -> None:
    pool = TranscriptionPool(ScriptedEngine, workers=2, max_pending=4)
    try:
        files = [wav(tmp_path, f"slow-0.2-{i}") for i in range(8)]
        results = await asyncio.gather(*(pool.transcribe(f) for f in files))
    finally:
        await pool.close()
    assert [r.text for r in results] == [f.stem for f in files]
    pids = {r.model.split()[0] for r in results}
    assert f"pid={os.getpid()}" not in pids  # never in the service's own process
    assert 1 <= len(pids) <= 2
    # each worker loaded the model once, however many files it took
    assert {r.model.split()[1] for r in results} == {"loads=1"}
    assert pool.completed == 8 and pool.failed == 0


async def test_transcription_leaves_the_event_loop_free(tmp_path: Path) -> None:
    pool = TranscriptionPool(ScriptedEngine, workers=1)
    try:
        await pool.transcribe(wav(tmp_path, "warm"))  # start the worker first
        job = asyncio.create_task(pool.transcribe(wav(tmp_path, "slow-1.5-x")))
        ticks = 0
        worst = 0.0
        while not job.done():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - before)
            ticks += 1
        await job
    finally:
        await pool.close()
    assert ticks > 50
    assert worst < 0.5


async def test_a_crashed_worker_is_reported_and_its_job_retried_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pool = TranscriptionPool(ScriptedEngine, workers=1)
    try:
        with caplog.at_level(logging.ERROR, logger="callcenter.asr.worker"):
            result = await pool.transcribe(wav(tmp_path, "crash-once-a"))
        assert result.text == "crash-once-a"
        assert pool.crashes == 1
        assert "ASR worker process died while transcribing" in caplog.text
        # the new worker keeps working
        assert (await pool.transcribe(wav(tmp_path, "after"))).text == "after"
    finally:
        await pool.close()


async def test_a_job_that_kills_its_worker_twice_fails_and_the_pool_recovers(
    tmp_path: Path,
) -> None:
    pool = TranscriptionPool(ScriptedEngine, workers=1)
    try:
        with pytest.raises(AsrError) as caught:
            await pool.transcribe(wav(tmp_path, "crash-always-b"))
        assert caught.value.error_id == "asr-worker-crashed"
        assert "crash-always-b.wav" in caught.value.message
        assert pool.crashes == 2 and pool.failed == 1
        assert (await pool.transcribe(wav(tmp_path, "next"))).text == "next"
    finally:
        await pool.close()


async def test_engine_errors_keep_their_id_and_do_not_count_as_crashes(tmp_path: Path) -> None:
    pool = TranscriptionPool(ScriptedEngine, workers=1)
    try:
        with pytest.raises(AsrError) as bad:
            await pool.transcribe(wav(tmp_path, "bad-c"))
        assert bad.value.error_id == "audio-not-pcm"
        with pytest.raises(AsrError) as boom:
            await pool.transcribe(wav(tmp_path, "boom-d"))
        assert boom.value.error_id == "asr-failed" and "scripted surprise" in boom.value.message
        with pytest.raises(AsrError) as missing:
            await pool.transcribe(tmp_path / "nowhere.wav")
        assert missing.value.error_id == "audio-not-found"
        assert pool.crashes == 0
    finally:
        await pool.close()


async def test_a_model_that_does_not_load_is_reported_by_each_job(tmp_path: Path) -> None:
    pool = TranscriptionPool(functools.partial(ScriptedEngine, fail_load=True), workers=1)
    try:
        for _ in range(2):
            with pytest.raises(AsrError) as caught:
                await pool.transcribe(wav(tmp_path, "e"))
            assert caught.value.error_id == "asr-model-missing"
        assert pool.crashes == 0
    finally:
        await pool.close()


async def test_backpressure_bounds_the_jobs_handed_to_the_pool(tmp_path: Path) -> None:
    pool = TranscriptionPool(ScriptedEngine, workers=1, max_pending=1)
    assert pool.capacity == 2
    files = [wav(tmp_path, f"slow-0.3-{i}") for i in range(5)]
    seen_in_flight = 0
    seen_waiting = 0
    try:
        jobs = [asyncio.create_task(pool.transcribe(f)) for f in files]
        while not all(j.done() for j in jobs):
            seen_in_flight = max(seen_in_flight, pool.in_flight)
            seen_waiting = max(seen_waiting, pool.waiting)
            await asyncio.sleep(0.02)
        assert [j.result().text for j in jobs] == [f.stem for f in files]
    finally:
        await pool.close()
    assert seen_in_flight == 2
    assert seen_waiting == 3


async def test_close_stops_a_busy_worker_and_refuses_new_jobs(tmp_path: Path) -> None:
    pool = TranscriptionPool(ScriptedEngine, workers=1)
    job = asyncio.create_task(pool.transcribe(wav(tmp_path, "slow-60-e")))
    await asyncio.sleep(1.5)  # the worker is started and busy
    started = time.monotonic()
    await pool.close(timeout=0.5)
    assert time.monotonic() - started < 5.0
    with pytest.raises(AsrError) as cut:
        await job
    assert cut.value.error_id == POOL_CLOSED
    assert pool.crashes == 0
    with pytest.raises(AsrError) as closed:
        await pool.transcribe(wav(tmp_path, "late"))
    assert closed.value.error_id == POOL_CLOSED
