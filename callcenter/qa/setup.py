"""QA in the app: the recordings catalogue fed by every call record, the housekeeping job
(retention, evaluation locks), the QA API and console routes, and what transcription (asr,
set up before QA) needs of QA: the sampled calls and who may read which transcript."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.asr.keys import TRANSCRIPT_POLICY
from callcenter.asr.masking import mask_call_record
from callcenter.calls.keys import CALL_SCOPE, RECORD_SINK
from callcenter.calls.scope import Review
from callcenter.config import Config
from callcenter.kernel.web.keys import CONFIG, SESSIONS, SUPERVISOR
from callcenter.qa.console_http import setup_qa_console_routes
from callcenter.qa.http import setup_qa_routes
from callcenter.qa.keys import QA
from callcenter.qa.runtime import QaState, make_qa
from callcenter.qa.scoring import score_form
from callcenter.qa.store import assigned_to, sampled_calls

log = logging.getLogger(__name__)


def setup(app: web.Application, config: Config) -> None:
    score_form(config.qa)  # a bad scoring form stops the start, as a bad setting does
    # Now, not in the context: asr's context, entered before QA's, builds the transcriber.
    app[TRANSCRIPT_POLICY].sampled = sampled_calls()
    app.cleanup_ctx.append(qa_context)
    setup_qa_routes(app)
    setup_qa_console_routes(app)


async def qa_context(app: web.Application) -> AsyncIterator[None]:
    """QA wiring: the recordings catalogue sink, the housekeeping job, the transcript rule."""
    state = make_qa(app[CONFIG], app[SESSIONS])
    app[QA] = state
    undo = [
        app[TRANSCRIPT_POLICY].add_read_check(state.assignments.check_transcript_reader),
        # The call log and compliance: inspectors read the calls assigned to them, masked.
        app[CALL_SCOPE].set_review(Review(assigned_to, mask_call_record)),
        app[RECORD_SINK].add(state.catalog),
    ]
    supervisor = app[SUPERVISOR]
    minutes = state.settings.housekeeping_minutes
    tasks = [
        supervisor.spawn("recordings-catalogue", state.catalog.run()),
        supervisor.spawn("qa-housekeeping", _every(minutes * 60.0, state)),
    ]
    try:
        yield
    finally:
        for remove in undo:
            remove()
        await supervisor.cancel(tasks)


async def _every(seconds: float, state: QaState) -> None:
    while True:
        try:
            await state.housekeeping()
        except Exception:
            log.exception("QA housekeeping failed; next try in %.0f s", seconds)
        await asyncio.sleep(seconds)
