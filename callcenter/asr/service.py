"""The transcriber: takes legs from the backlog, transcribes them in the pool, stores the
words, and runs the script checks on the call's agent legs once they are in.

Used by the service (a background task, `run`) and by `callcenter asr
transcribe` (`run_once` with a progress callback). Both are resumable: each
leg is stored as soon as it is done.

`transcript_view` is what the QA console and the transcript API show:
words and text masked, script checks, and the checks that need no ASR.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.asr.checks import (
    AgentLeg,
    CheckResult,
    ChecksConfigError,
    ScriptSettings,
    check_script,
    script_settings,
    unchecked,
)
from callcenter.asr.engine import AsrError
from callcenter.asr.masking import mask_text, mask_word_dicts
from callcenter.asr.store import DONE, FAILED, AsrRepository, LegJob, StoredTranscript
from callcenter.asr.vosk_engine import VoskEngine, check_model_dir
from callcenter.asr.worker import POOL_CLOSED, EngineFactory, TranscriptionPool
from callcenter.config import Config, ConfigError
from callcenter.kernel.clock import Clock

log = logging.getLogger(__name__)


def load_script_settings(config: Config) -> ScriptSettings:
    """The checks' settings from the configuration, reading the phrases file if one is set."""
    asr = config.asr
    overrides = None
    if asr.phrases_file is not None:
        try:
            overrides = json.loads(asr.phrases_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"CALLCENTER_SCRIPT_PHRASES: cannot read {asr.phrases_file}: {exc}"
            ) from None
        except ValueError as exc:
            raise ConfigError(
                f"CALLCENTER_SCRIPT_PHRASES: {asr.phrases_file} is not JSON: {exc}"
            ) from None
        if not isinstance(overrides, dict) or not all(
            isinstance(v, dict) for v in overrides.values()
        ):
            raise ConfigError(
                "CALLCENTER_SCRIPT_PHRASES must hold {language: {key: [phrases]}}, e.g."
                ' {"zh-CN": {"org": ["XX公司", "客服部"]}}'
            )
    try:
        return script_settings(
            asr.language,
            opening_seconds=asr.opening_seconds,
            closing_seconds=asr.closing_seconds,
            company_names=asr.company_names,
            overrides=overrides,
        )
    except ChecksConfigError as exc:
        raise ConfigError(str(exc)) from None


def vosk_factory(config: Config) -> EngineFactory:
    """The engine for the worker processes; `AsrError` now if the model dir is unusable."""
    if config.asr_model_path is None:
        from callcenter.asr.vosk_engine import NO_MODEL_MESSAGE

        raise AsrError("asr-model-not-configured", NO_MODEL_MESSAGE)
    check_model_dir(config.asr_model_path)
    return functools.partial(VoskEngine, str(config.asr_model_path))


@dataclass
class RunReport:
    total: int = 0  # legs this run set out to do
    transcribed: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    checked_calls: int = 0
    started: float = 0.0
    finished: float = 0.0

    @property
    def done(self) -> int:
        return self.transcribed + self.failed

    def to_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "transcribed": self.transcribed,
            "failed": self.failed,
            "audio_seconds": round(self.audio_seconds, 1),
            "checked_calls": self.checked_calls,
            "elapsed_seconds": round(self.finished - self.started, 1),
        }


Progress = Callable[[RunReport, LegJob], None]


class Transcriber:
    def __init__(
        self,
        repository: AsrRepository,
        pool: TranscriptionPool,
        recordings_dir: Path,
        settings: ScriptSettings,
        *,
        include_all: bool = False,
        clock: Clock = time.time,
    ) -> None:
        self._repo = repository
        self._pool = pool
        self._dir = recordings_dir
        self.settings = settings
        self.include_all = include_all
        self._clock = clock
        self.backlog = 0  # legs waiting, as counted on the last poll (the /metrics gauge)
        self.transcribed = 0
        self.failed = 0

    @property
    def pool(self) -> TranscriptionPool:
        return self._pool

    async def run_once(
        self,
        *,
        include_all: bool | None = None,
        limit: int | None = None,
        progress: Progress | None = None,
    ) -> RunReport:
        """Transcribe the backlog (at most `limit` legs) and check the calls it completes."""
        everything = self.include_all if include_all is None else include_all
        report = RunReport(started=self._clock())
        self.backlog = await self._repo.backlog_count(include_all=everything)
        report.total = self.backlog if limit is None else min(limit, self.backlog)
        tried: set[tuple[str, str, str]] = set()
        batch = max(2 * self._pool.capacity, 4)
        while report.done < report.total and not self._pool.closed:
            want = min(batch, report.total - report.done)
            # A leg whose row could not be saved stays in the backlog: never take it twice.
            jobs = [
                j
                for j in await self._repo.backlog(include_all=everything, limit=want + len(tried))
                if (j.linkedid, j.uniqueid, j.leg) not in tried
            ][:want]
            if not jobs:
                break
            tried.update((j.linkedid, j.uniqueid, j.leg) for j in jobs)
            await asyncio.gather(*(self._one(job, report, progress) for job in jobs))
        report.finished = self._clock()
        return report

    async def _one(self, job: LegJob, report: RunReport, progress: Progress | None) -> None:
        try:
            result = await self._pool.transcribe(self._dir / job.path)
        except AsrError as exc:
            if exc.error_id == POOL_CLOSED:
                return  # shutting down: the leg stays in the backlog
            log.warning("%s leg of call %s not transcribed: %s", job.leg, job.linkedid, exc)
            await self._repo.save_transcript(
                job, exc, language=self.settings.language, now=self._clock()
            )
            report.failed += 1
            self.failed += 1
        else:
            await self._repo.save_transcript(
                job, result, language=self.settings.language, now=self._clock()
            )
            report.transcribed += 1
            report.audio_seconds += result.duration
            self.transcribed += 1
        self.backlog = max(0, self.backlog - 1)
        if job.leg == "agent":
            await self.check_call(job.linkedid)
            report.checked_calls += 1
        if progress is not None:
            progress(report, job)

    async def check_call(self, linkedid: str) -> list[CheckResult]:
        return await run_checks(self._repo, self.settings, linkedid, now=self._clock())

    async def run(self, poll_seconds: float) -> None:
        """The service's background task: poll the backlog, clear it, sleep."""
        healthy = True
        while True:
            try:
                report = await self.run_once()
                if report.done:
                    log.info(
                        "transcribed %d legs (%d failed, %.0f s of audio) in %.1f s",
                        report.transcribed,
                        report.failed,
                        report.audio_seconds,
                        report.finished - report.started,
                    )
                if not healthy:
                    log.info("transcription backlog readable again")
                healthy = True
            except AsrError as exc:  # the pool was closed under us: shutting down
                log.info("transcriber stopped: %s", exc)
                return
            except Exception as exc:
                if healthy:  # one line per state change, not per poll
                    log.warning("transcription backlog not read (%s); retrying every poll", exc)
                healthy = False
            await asyncio.sleep(poll_seconds)


async def run_checks(
    repository: AsrRepository, settings: ScriptSettings, linkedid: str, *, now: float
) -> list[CheckResult]:
    """Run the script checks on the call's stored agent transcripts and store the results.

    Nothing is stored while the call has no agent transcript row; a leg that
    failed gives results that say why they could not be checked.
    """
    agent = [t for t in await repository.transcripts(linkedid) if t.leg == "agent"]
    if not agent:
        return []
    context = await repository.call_context(linkedid)
    done = [t for t in agent if t.status == DONE]
    if done:
        legs = [
            AgentLeg(t.words, t.duration if t.duration is not None else _last_end(t.words))
            for t in done
        ]
        results = check_script(legs, settings, context.staff_no, announced=context.announced)
    else:
        errors = "; ".join(t.error or "failed" for t in agent)
        results = unchecked(f"the agent's voice could not be transcribed: {errors}")
    await repository.save_checks(linkedid, results, language=settings.language, now=now)
    return results


def _last_end(words: tuple[object, ...]) -> float:
    return float(getattr(words[-1], "end", 0.0)) if words else 0.0


def _masked_words(t: StoredTranscript) -> list[dict[str, Any]]:
    words = [
        {"word": w.word, "start": w.start, "end": w.end, "conf": w.conf, "uniqueid": t.uniqueid}
        for w in t.words
    ]
    return mask_word_dicts(words)


def _masked_check(check: dict[str, Any]) -> dict[str, Any]:
    """Evidence quotes the transcript: mask it like the transcript."""
    out = dict(check)
    out["detail"] = mask_text(str(check.get("detail", "")))
    out["evidence"] = [
        {**e, "words": mask_word_dicts(e.get("words", ()))} for e in check.get("evidence", ())
    ]
    return out


async def transcript_view(
    session_factory: async_sessionmaker[AsyncSession],
    linkedid: str,
    *,
    asr_model_configured: bool | None = None,
) -> dict[str, Any]:
    """A call's transcript (masked) and checks, for the QA console and the transcript API.

    {"linkedid", "transcript": {"agent": [words], "caller": [words]} | None,
     "text": {"agent": str, "caller": str}, "legs": [per-leg status],
     "checks": [{"check", "passed", "detail", "suggestion", "evidence"}],
     "asr": {"status": "done"|"partial"|"pending"|"failed"|"off", "message"}}

    Word times are seconds from the start of that leg's own-voice recording,
    which starts with the agent channel's mixed recording (the same MixMonitor).
    Each word carries the `uniqueid` of its agent channel (transfers: several).
    `checks` holds the stored script checks (or why there are none) followed
    by the checks that need no ASR, which are there even without a model.
    """
    repo = AsrRepository(session_factory)
    stored = await repo.transcripts(linkedid)
    pending = await repo.pending_legs(linkedid)
    context = await repo.call_context(linkedid)
    done = [t for t in stored if t.status == DONE]
    failed = [t for t in stored if t.status == FAILED]
    transcript: dict[str, list[dict[str, Any]]] | None = None
    text: dict[str, str] = {}
    if done:
        transcript = {"agent": [], "caller": []}
        for t in done:
            transcript.setdefault(t.leg, []).extend(_masked_words(t))
            text[t.leg] = (text.get(t.leg, "") + " " + mask_text(t.text)).strip()
    if asr_model_configured is False and not stored:
        status, message = (
            "off",
            (
                "no ASR model configured: set CALLCENTER_ASR_MODEL to a vosk model directory;"
                " the checks that need no ASR are shown"
            ),
        )
    elif failed and not done:
        status, message = "failed", "; ".join(t.error or "failed" for t in failed)
    elif done and (pending or failed):
        status, message = "partial", f"{pending} leg(s) waiting, {len(failed)} failed"
    elif done:
        status, message = "done", "transcribed"
    else:
        status, message = (
            "pending",
            (
                "not transcribed yet (sampled calls are transcribed in the background;"
                " `callcenter asr transcribe` clears the backlog)"
            ),
        )
    script = await repo.checks(linkedid)
    if not script:
        script = [r.to_json() for r in unchecked(message if status != "done" else "not checked")]
    return {
        "linkedid": linkedid,
        "transcript": transcript,
        "text": text,
        "legs": [t.summary() for t in stored],
        "checks": [_masked_check(c) for c in [*script, *(c.to_json() for c in context.checks)]],
        "asr": {"status": status, "message": message, "pending_legs": pending},
    }
