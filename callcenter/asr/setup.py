"""Transcription in the app: the vosk worker pool and the transcriber's background job (when a
model is configured), its metrics, and the transcript routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.asr.engine import AsrError
from callcenter.asr.http import setup_transcript_routes
from callcenter.asr.keys import ASR_REPOSITORY, TRANSCRIBER, TRANSCRIPT_POLICY
from callcenter.asr.metrics import watch_asr
from callcenter.asr.policy import TranscriptPolicy
from callcenter.asr.service import Transcriber, load_script_settings, vosk_factory
from callcenter.asr.store import AsrRepository
from callcenter.asr.vosk_engine import NO_MODEL_MESSAGE
from callcenter.asr.worker import TranscriptionPool
from callcenter.config import Config
from callcenter.kernel.web.keys import CONFIG, SESSIONS, SUPERVISOR
from callcenter.ops.keys import METRICS

log = logging.getLogger(__name__)


def setup(app: web.Application, config: Config) -> None:
    # Here, not in the context: QA's setup, after this one, hands in its samples and rule.
    app[TRANSCRIPT_POLICY] = TranscriptPolicy()
    app.cleanup_ctx.append(asr_context)
    setup_transcript_routes(app)


async def asr_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    repository = AsrRepository(app[SESSIONS], sampled=app[TRANSCRIPT_POLICY].sampled)
    app[ASR_REPOSITORY] = repository
    transcriber: Transcriber | None = None
    pool: TranscriptionPool | None = None
    if config.asr_model_path is None:
        log.warning("%s", NO_MODEL_MESSAGE)
    else:
        try:
            factory = vosk_factory(config)
        except AsrError as exc:
            log.error(
                "%s; transcription stays off until this is fixed and the service restarted", exc
            )
        else:
            pool = TranscriptionPool(
                factory, workers=config.asr.workers, max_pending=config.asr.max_pending
            )
            transcriber = Transcriber(
                repository,
                pool,
                config.recordings_dir,
                load_script_settings(config),
                include_all=config.asr.transcribe_all,
            )
            app[TRANSCRIBER] = transcriber
            task = app[SUPERVISOR].spawn(
                "asr-transcriber", transcriber.run(config.asr.poll_seconds)
            )
    unwatch = watch_asr(app[METRICS].registry, transcriber)
    try:
        yield
    finally:
        unwatch()
        if pool is not None:
            # The task first: a job cut off by the pool's shutdown must not be
            # stored as failed (it stays in the backlog for the next start).
            await app[SUPERVISOR].cancel([task])
            await pool.close(timeout=5.0)
