"""Transcripts and script checks on SQLite and PostgreSQL: the backlog, a resumable run
through the real worker pool (scripted engine), failures, the masked view."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.asr.checks import script_settings
from callcenter.asr.engine import AsrError, Transcript, Word
from callcenter.asr.service import Transcriber, transcript_view
from callcenter.asr.store import AsrRepository, LegJob
from callcenter.asr.tables import script_checks_table, transcripts_table
from callcenter.asr.worker import TranscriptionPool
from callcenter.calls.record import RecordingSegment
from callcenter.calls.store import CallRepository
from callcenter.compliance.domain import Compliance
from callcenter.compliance.store import ComplianceRepository
from callcenter.qa.store import sampled_calls
from tests.support.asr_calls import GREETING, T0, make_call, store
from tests.support.asr_engines import ScriptedEngine


async def test_backlog_is_the_voice_legs_of_sampled_calls_then_all_on_request(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await store(
        sessions,
        make_call("1763000001.1", None),
        make_call("1763000002.1", None),
        sampled=("1763000002.1",),
    )
    # segments of a call that is not final yet (no call row): never in the backlog
    await CallRepository(sessions).upsert_segments(
        [RecordingSegment("1763000003.1", "1763000003.2", "agent-voice", "x/a.wav")]
    )
    unsampled = AsrRepository(sessions)  # without QA's query no call counts as sampled
    assert await unsampled.backlog(include_all=False) == []
    assert [j.sampled for j in await unsampled.backlog(include_all=True)] == [False] * 4
    repo = AsrRepository(sessions, sampled=sampled_calls())
    sampled = await repo.backlog(include_all=False)
    assert {(j.linkedid, j.leg) for j in sampled} == {
        ("1763000002.1", "agent"),
        ("1763000002.1", "caller"),
    }
    assert all(j.sampled for j in sampled)
    everything = await repo.backlog(include_all=True)
    assert len(everything) == 4
    assert [j.sampled for j in everything] == [True, True, False, False]  # sampled first
    assert await repo.backlog_count(include_all=False) == 2
    assert await repo.backlog_count(include_all=True) == 4

    job = sampled[0]
    await repo.save_transcript(
        job,
        Transcript((Word("안녕", 0.1, 0.5, 0.9),), "안녕", 3.0, "vosk", "m"),
        language="ko",
    )
    await repo.save_transcript(
        sampled[1], AsrError("audio-not-found", "gone"), language="ko", engine="vosk"
    )
    assert await repo.backlog_count(include_all=False) == 0
    assert await repo.pending_legs("1763000002.1") == 0
    assert await repo.retry_failed() == 1
    assert [(j.leg) for j in await repo.backlog(include_all=False)] == [sampled[1].leg]
    stored = await repo.transcripts("1763000002.1")
    assert [t.words for t in stored if t.status == "done"] == [(Word("안녕", 0.1, 0.5, 0.9),)]


async def test_a_run_is_resumable_and_stores_words_failures_and_checks(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    recordings = tmp_path / "recordings"
    good = make_call("1763000010.1", recordings)
    broken = make_call("1763000020.1", recordings, agent_file="missing", caller_file="bad-alaw")
    await store(sessions, good, broken, sampled=("1763000010.1", "1763000020.1"))
    await ComplianceRepository(sessions).save(
        Compliance("1763000010.1", "1001", T0 + 5, 0.4, False, True, ()), T0 + 70
    )
    repo = AsrRepository(sessions, sampled=sampled_calls())
    pool = TranscriptionPool(ScriptedEngine, workers=1)
    transcriber = Transcriber(repo, pool, recordings, script_settings("zh-CN"))
    progress: list[tuple[int, int]] = []
    try:
        first = await transcriber.run_once(
            limit=1, progress=lambda r, job: progress.append((r.done, r.total))
        )
        assert (first.total, first.transcribed, first.failed) == (1, 1, 0)
        assert progress == [(1, 1)]
        assert transcriber.backlog == 3
        rest = await transcriber.run_once()
        assert (rest.total, rest.transcribed, rest.failed) == (3, 1, 2)
        again = await transcriber.run_once()
        assert again.total == 0
    finally:
        await pool.close()

    legs = {(t.linkedid, t.leg): t for t in await repo.transcripts("1763000010.1")}
    agent = legs[("1763000010.1", "agent")]
    assert agent.status == "done" and agent.words[0].word == GREETING
    assert agent.duration == pytest.approx(0.5)
    assert legs[("1763000010.1", "caller")].text == "customer"
    failed = {t.leg: t for t in await repo.transcripts("1763000020.1")}
    assert failed["agent"].status == "failed" and failed["agent"].error is not None
    assert failed["agent"].error.startswith("audio-not-found:")
    assert failed["caller"].error is not None
    assert failed["caller"].error.startswith("audio-not-pcm:")

    checks = {c["check"]: c for c in await repo.checks("1763000010.1")}
    assert checks["greeting"]["passed"] is True
    assert checks["forbidden-phrases"]["passed"] is True
    assert checks["closing-question"]["passed"] is False
    assert checks["greeting"]["evidence"][0]["words"][0]["word"] == GREETING
    unchecked = await repo.checks("1763000020.1")
    assert {c["passed"] for c in unchecked} == {None}
    assert "could not be transcribed: audio-not-found" in unchecked[0]["detail"]
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(transcripts_table)) == 4
        rows = await session.scalar(sa.select(sa.func.count()).select_from(script_checks_table))
        assert rows == 8


async def test_view_masks_numbers_and_shows_the_checks_that_need_no_asr(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    call = make_call("1763000030.1", None)
    await store(sessions, call, sampled=(call.linkedid,))
    # without any transcript and no model: the no-ASR checks, and why no script checks
    await ComplianceRepository(sessions).save(
        Compliance(
            call.linkedid, "1001", T0 + 5, 7.5, True, True, ("dead-air", "agent-hung-up-first")
        ),
        T0 + 70,
    )
    off = await transcript_view(sessions, call.linkedid, asr_model_configured=False)
    assert off["transcript"] is None
    assert off["asr"]["status"] == "off"
    assert "no ASR model configured: set CALLCENTER_ASR_MODEL" in off["asr"]["message"]
    by_check = {c["check"]: c for c in off["checks"]}
    assert by_check["dead-air"]["passed"] is False and "7.5 s" in by_check["dead-air"]["detail"]
    assert by_check["hang-up-order"]["passed"] is False
    assert by_check["greeting"]["passed"] is None
    pending = await transcript_view(sessions, call.linkedid)
    assert pending["asr"]["status"] == "pending" and pending["asr"]["pending_legs"] == 2

    repo = AsrRepository(sessions)
    said = "我 的 手机 是 1 3 9 1 2 3 4 5 6 7 8 您 还 有 什么 需要 帮助 的 吗".split()
    words = tuple(Word(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(said))
    job = LegJob(call.linkedid, "1763000030.9", "agent", "a.wav", True)
    await repo.save_transcript(
        job, Transcript(words, " ".join(said), 30.0, "vosk", "m"), language="zh-CN"
    )
    view = await transcript_view(sessions, call.linkedid, asr_model_configured=True)
    assert view["asr"]["status"] == "partial"  # the caller leg is still waiting
    agent_words = [w["word"] for w in view["transcript"]["agent"]]
    assert agent_words[4:15] == [*"1 3 9 * * * * 5 6 7 8".split()]
    assert view["transcript"]["agent"][4]["start"] == 2.0
    assert view["transcript"]["agent"][0]["uniqueid"] == "1763000030.9"
    assert "1 3 9 * * * * 5 6 7 8" in view["text"]["agent"]
    assert view["transcript"]["caller"] == []
    assert view["legs"][0]["status"] == "done" and view["legs"][0]["words"] == len(said)
    # the raw words stay in the database: masking is for showing and exporting
    stored = await repo.transcripts(call.linkedid)
    assert stored[0].words[7].word == "1"
    assert time.time() - stored[0].created_at < 60
