"""Transcripts and script checks: the app's transcriber and the HTTP API.

`asr_context` (a cleanup_ctx) starts the worker pool and the background
transcriber when a model is configured; without one it says so once and the
API still answers with the checks that need no ASR.

Who may read a transcript: staff (agents none: the transcript quotes the
customer), within the rules the features above hand in through the
transcript policy (QA: inspectors only the calls sampled and assigned to
them, like the recordings).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from aiohttp import web

from callcenter.accounts.http import client_ip
from callcenter.asr.keys import ASR_REPOSITORY, TRANSCRIBER, TRANSCRIPT_POLICY
from callcenter.asr.service import transcript_view
from callcenter.asr.transcript_export import transcript_text
from callcenter.asr.vosk_engine import NO_MODEL_MESSAGE
from callcenter.audit.domain import AuditEntry
from callcenter.audit.http import audit_refusals
from callcenter.audit.service import AuditLog
from callcenter.kernel.roles import STAFF
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.keys import CONFIG, SESSIONS

log = logging.getLogger(__name__)


async def _view(request: web.Request) -> dict[str, Any]:
    linkedid = request.match_info["linkedid"]
    await request.app[TRANSCRIPT_POLICY].check_reader(access.principal(request), linkedid)
    if not await request.app[ASR_REPOSITORY].call_exists(linkedid):
        raise ApiError(
            404, "call-not-found", f"no call with linkedid {linkedid}", linkedid=linkedid
        )
    configured = TRANSCRIBER in request.app
    return await transcript_view(request.app[SESSIONS], linkedid, asr_model_configured=configured)


async def get_transcript(request: web.Request) -> web.Response:
    """JSON for the console; `?format=txt` downloads it (masked, and audited)."""
    fmt = request.query.get("format", "json")
    if fmt not in {"json", "txt"}:
        raise ApiError(400, "bad-parameter", "format must be json or txt", got=fmt)
    view = await _view(request)
    if fmt == "json":
        return web.json_response(view)
    who = access.principal(request)
    entry = AuditEntry(
        actor=who.username,
        role=who.role.value,
        action="export",
        object_type="transcript",
        object_id=view["linkedid"],
        at=time.time(),
        ip=client_ip(request),
    )
    try:
        await AuditLog(request.app[SESSIONS]).record(entry)
    except Exception:
        log.exception("audit log write failed")
        raise ApiError(503, "audit-unavailable", "the export cannot be audited now") from None
    return web.Response(
        text=transcript_text(view),
        content_type="text/plain",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="transcript-{view["linkedid"]}.txt"'
        },
    )


async def get_checks(request: web.Request) -> web.Response:
    view = await _view(request)
    return web.json_response(
        {"linkedid": view["linkedid"], "checks": view["checks"], "asr": view["asr"]}
    )


async def asr_status(request: web.Request) -> web.Response:
    transcriber = request.app.get(TRANSCRIBER)
    config = request.app[CONFIG]
    if transcriber is None:
        return web.json_response(
            {
                "enabled": False,
                "message": NO_MODEL_MESSAGE
                if config.asr_model_path is None
                else f"the ASR model {config.asr_model_path} is not usable",
            }
        )
    repository = request.app[ASR_REPOSITORY]
    return web.json_response(
        {
            "enabled": True,
            "model": str(config.asr_model_path),
            "language": transcriber.settings.language,
            "transcribe_all": transcriber.include_all,
            "backlog": await repository.backlog_count(include_all=transcriber.include_all),
            "in_flight": transcriber.pool.in_flight,
            "transcribed": transcriber.transcribed,
            "failed": transcriber.failed,
            "worker_crashes": transcriber.pool.crashes,
        }
    )


def setup_transcript_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="qa")
    r(
        "GET",
        "/api/calls/{linkedid}/transcript",
        get_transcript,
        roles=STAFF,
        summary="a call's transcript per leg (masked) with the script checks (inspectors:"
        " assigned calls only); ?format=txt exports it, audited, refusals too",
        rows="transcripts",
        on_refused=audit_refusals("transcript", "linkedid"),
    )
    r(
        "GET",
        "/api/calls/{linkedid}/checks",
        get_checks,
        roles=STAFF,
        summary="a call's script checks and the checks that need no ASR (suggestions, not scores)",
        rows="transcripts",
        on_refused=audit_refusals("transcript", "linkedid"),
    )
    r("GET", "/api/asr/status", asr_status, roles=STAFF, summary="ASR model, backlog and workers")
