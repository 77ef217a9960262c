"""HTTP API for quality inspection: samples, evaluations, draws, reports, recordings, audit.

Row-level rules live here, next to the route table: an inspector (role qa)
sees and plays only the samples assigned to them; supervisors and admins see
all; agents are refused by the route policy. Every play or download of a
recording is written to the audit log, and so is every refused attempt (the
route's refusal hook: anonymous, an agent, an inspector not assigned). Row
rules: `callcenter.kernel.web.rows` ("qa-samples", "evaluations", "recordings").
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

from aiohttp import web

from callcenter.accounts.http import client_ip
from callcenter.asr.masking import mask_call_record
from callcenter.asr.service import transcript_view
from callcenter.audit.domain import AuditEntry
from callcenter.audit.http import AUDIT_DETAILS, audit_refusals
from callcenter.calls.keys import REPOSITORY
from callcenter.kernel.roles import MANAGERS, STAFF, Principal
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.keys import CONFIG
from callcenter.kernel.web.request import (
    id_param,
    int_param,
    json_object,
    optional_timestamp,
    timestamp_param,
)
from callcenter.qa.keys import QA
from callcenter.qa.model import SampleRow
from callcenter.qa.runtime import QaState
from callcenter.qa.scoring import form_from_json, score_form
from callcenter.recordings.recording import Recording

log = logging.getLogger(__name__)

# Mixed on the agent's channel first: the transcript's word times count from its start.
_LEG_ORDER = {("mixed", "agent"): 0, ("agent", "agent-voice"): 1, ("caller", "customer-voice"): 2}


# -- helpers ----------------------------------------------------------------------------------


def _state(request: web.Request) -> QaState:
    return request.app[QA]


def _id(request: web.Request, name: str) -> int:
    return id_param(request, name)  # 1 to the BIGINT maximum


def _inspector_only(principal: Principal) -> bool:
    """Inspectors are limited to their own samples; managers (and admins) see everything."""
    return not principal.is_manager


def _when(raw: object, name: str) -> float | None:
    """An epoch number or an ISO time with its offset (finite, 1970-2100); None if not given."""
    return optional_timestamp(raw, name)


def _recordings_json(recordings: list[Recording]) -> list[dict[str, Any]]:
    ordered = sorted(
        recordings, key=lambda r: (_LEG_ORDER.get((r.leg, r.source), 3), r.created_at, r.id or 0)
    )
    return [r.to_json() for r in ordered if not r.deleted]


# -- samples -------------------------------------------------------------------------------------


async def list_samples(request: web.Request) -> web.Response:
    principal = access.principal(request)
    query = request.query
    mine = _inspector_only(principal) or query.get("mine") in {"1", "true", "yes"}
    rows = await _state(request).evaluations.rows(
        inspector=principal.username if mine else None,
        month=query.get("month") or None,
        status=query.get("status") or None,
        agent=query.get("agent") or None,
    )
    now = time.time()
    if mine:
        return web.json_response({"samples": [r.to_json(now) for r in rows]})
    # Managers: one line per sample, its first inspector's status, every inspector named.
    by_sample: dict[int, list[SampleRow]] = {}
    for row in rows:
        by_sample.setdefault(row.sample.id, []).append(row)
    samples = []
    for group in by_sample.values():
        line = group[0].to_json(now)
        line["inspectors"] = [r.assignment.inspector for r in group if r.assignment is not None]
        samples.append(line)
    return web.json_response({"samples": samples})


async def _visible_rows(request: web.Request, sample_id: int) -> tuple[Principal, list[SampleRow]]:
    principal = access.principal(request)
    rows = await _state(request).evaluations.store.list_rows(sample_id=sample_id)
    if not rows:
        raise ApiError(404, "sample-not-found", f"no sample {sample_id}", sample_id=sample_id)
    if _inspector_only(principal):
        rows = [r for r in rows if r.assignment and r.assignment.inspector == principal.username]
        if not rows:
            raise ApiError(
                403,
                "not-assigned",
                f"sample {sample_id} is not assigned to you",
                sample_id=sample_id,
            )
    return principal, rows


async def get_sample(request: web.Request) -> web.Response:
    sample_id = _id(request, "sample_id")
    principal, rows = await _visible_rows(request, sample_id)
    state = _state(request)
    repository = state.evaluations.store
    mine = next(
        (r for r in rows if r.assignment and r.assignment.inspector == principal.username), None
    )
    row = mine or rows[0]
    linkedid = row.sample.linkedid
    record = await request.app[REPOSITORY].get(linkedid)
    # The ASR side's view: masked words per leg and the checks (suggestions only).
    asr = await transcript_view(
        repository.session_factory,
        linkedid,
        asr_model_configured=request.app[CONFIG].asr_model_path is not None,
    )
    evaluation = None
    if row.evaluation is not None:
        evaluation = await state.evaluations.evaluation(row.evaluation.id)
    form = score_form(state.settings) if evaluation is None else form_from_json(evaluation.form)
    body: dict[str, Any] = {
        "sample": row.to_json(time.time()),
        "call": None if record is None else mask_call_record(record.to_json()),
        "recordings": _recordings_json(await state.recordings.for_call(linkedid)),
        "transcript": asr.get("transcript"),
        "checks": asr.get("checks", []),
        "asr": asr.get("asr"),
        "evaluation": None if evaluation is None else evaluation.to_json(),
        "editable": mine is not None and (evaluation is None or not evaluation.locked),
        "form": form.to_json(),
    }
    if principal.is_manager:
        body["assignments"] = [r.assignment.to_json() for r in rows if r.assignment]
        body["evaluations"] = [r.evaluation.to_json() for r in rows if r.evaluation]
    return web.json_response(body)


async def put_evaluation(request: web.Request) -> web.Response:
    sample_id = _id(request, "sample_id")
    principal = access.principal(request)
    body = await json_object(request)
    evaluation, created = await _state(request).evaluations.evaluate(
        sample_id, principal.username, body, by=principal.username
    )
    return web.json_response({"evaluation": evaluation.to_json()}, status=201 if created else 200)


async def get_evaluation(request: web.Request) -> web.Response:
    principal = access.principal(request)
    evaluation = await _state(request).evaluations.evaluation(_id(request, "evaluation_id"))
    if _inspector_only(principal) and evaluation.inspector != principal.username:
        raise ApiError(403, "not-assigned", "this evaluation is another inspector's")
    return web.json_response({"evaluation": evaluation.to_json()})


async def lock_evaluation(request: web.Request) -> web.Response:
    principal = access.principal(request)
    evaluation = await _state(request).evaluations.lock(
        _id(request, "evaluation_id"), by=principal.username
    )
    return web.json_response({"evaluation": evaluation.to_json()})


async def assign_sample(request: web.Request) -> web.Response:
    principal = access.principal(request)
    body = await json_object(request)
    assignments = await _state(request).assignments.assign(
        _id(request, "sample_id"),
        body.get("inspectors"),
        due_at=_when(body.get("due_at"), "due_at"),
        by=principal.username,
    )
    return web.json_response({"assignments": [a.to_json() for a in assignments]})


# -- draws -----------------------------------------------------------------------------------------


async def create_draw(request: web.Request) -> web.Response:
    principal = access.principal(request)
    body = await json_object(request)
    month = body.get("month")
    if not isinstance(month, str):
        raise ApiError(400, "month-invalid", "month must be YYYY-MM", got=month)
    assign = body.get("assign", True)
    if not isinstance(assign, bool):
        raise ApiError(400, "bad-field", "assign must be true or false", field="assign")
    outcome = await _state(request).draws.draw(month, by=principal.username, assign=assign)
    return web.json_response(outcome.to_json(), status=201)


async def get_draw(request: web.Request) -> web.Response:
    draw = await _state(request).draws.store.get_draw(_id(request, "draw_id"))
    if draw is None:
        raise ApiError(404, "draw-not-found", "no such draw")
    return web.json_response({"draw": draw.to_json(with_candidates=True)})


async def verify_draw(request: web.Request) -> web.Response:
    result = await _state(request).draws.verify_draw(_id(request, "draw_id"))
    return web.json_response(result.to_json())


# -- reports ---------------------------------------------------------------------------------------


async def calibration(request: web.Request) -> web.Response:
    view = await _state(request).reports.calibration(request.match_info["linkedid"])
    evaluations = await _state(request).reports.store.evaluations_of_call(view["linkedid"])
    view["evaluations"] = [e.to_json() for e in evaluations]
    view["form"] = score_form(_state(request).settings).to_json()
    return web.json_response(view)


async def summary(request: web.Request) -> web.Response:
    month = request.query.get("month", "")
    return web.json_response(await _state(request).reports.summary(month))


async def weekly(request: web.Request) -> web.Response:
    week = request.query.get("week", "")
    report = await _state(request).reports.weekly(week)
    for defect in report["defects"]:
        defect["by_agent"] = defect["agents"]
        defect["agents"] = list(defect["agents"])
    report["form"] = score_form(_state(request).settings).to_json()
    return web.json_response(report)


async def get_form(request: web.Request) -> web.Response:
    return web.json_response({"form": score_form(_state(request).settings).to_json()})


async def list_inspectors(request: web.Request) -> web.Response:
    assignments = _state(request).assignments
    load = await assignments.store.open_load()
    names = await assignments.inspectors()
    return web.json_response(
        {"inspectors": [{"username": n, "open": load.get(n, 0)} for n in sorted(names)]}
    )


# -- recordings and the audit log ------------------------------------------------------------------


async def _audit(
    request: web.Request,
    principal: Principal,
    action: str,
    recording_id: int,
    **details: Any,
) -> None:
    entry = AuditEntry(
        actor=principal.username,
        role=principal.role.value,
        action=action,
        object_type="recording",
        object_id=str(recording_id),
        at=time.time(),
        ip=client_ip(request),
        details={k: v for k, v in details.items() if v is not None},
    )
    try:
        await _state(request).audit.record(entry)
    except Exception:
        # No audit row, no audio: an access that cannot be recorded is not served.
        log.exception("audit log write failed")
        raise ApiError(503, "audit-unavailable", "the access cannot be audited now") from None


async def recording_audio(request: web.Request) -> web.StreamResponse:
    principal = access.principal(request)
    recording_id = _id(request, "recording_id")
    state = _state(request)
    recording = await state.recordings.get(recording_id)
    if recording is None:
        raise ApiError(404, "recording-not-found", f"no recording {recording_id}")
    if _inspector_only(principal) and not await state.assignments.store.is_assigned(
        principal.username, recording.linkedid, principal.user_id
    ):
        # Audited by the route's refusal hook; the call is named there, not to the caller.
        hidden: dict[str, object] = {"linkedid": recording.linkedid}
        request[AUDIT_DETAILS] = hidden
        raise ApiError(
            403,
            "not-assigned",
            "inspectors may only play calls sampled and assigned to them",
            recording_id=recording_id,
        )
    if recording.deleted:
        raise ApiError(
            410,
            "recording-deleted",
            f"recording {recording_id} was deleted ({recording.delete_reason})",
            deleted_at=recording.deleted_at,
        )
    path = state.catalog.root / recording.path
    if not await asyncio.to_thread(path.is_file):
        raise ApiError(
            404, "recording-file-missing", f"the file of recording {recording_id} is gone"
        )
    download = request.query.get("download") in {"1", "true", "yes"}
    await _audit(
        request,
        principal,
        "download" if download else "play",
        recording_id,
        linkedid=recording.linkedid,
        leg=recording.leg,
        range=request.headers.get("Range"),
    )
    headers = {"Content-Type": "audio/wav", "Cache-Control": "private, no-store"}
    if download:
        name = f"{recording.linkedid}-{recording.leg}-{recording.id}.wav"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return web.FileResponse(path, headers=headers)


async def audit_log(request: web.Request) -> web.Response:
    query = request.query
    limit = int_param(request, "limit", 100, 1, 1000)
    since = timestamp_param(request, "since")
    entries = await _state(request).audit.search(
        actor=query.get("actor") or None,
        action=query.get("action") or None,
        object_type=query.get("object_type") or None,
        object_id=query.get("object_id") or None,
        since=since,
        limit=limit,
    )
    return web.json_response({"entries": [e.to_json() for e in entries]})


def setup_qa_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="qa")
    r(
        "GET",
        "/api/qa/samples",
        list_samples,
        roles=STAFF,
        summary="QA samples (inspectors: own)",
        rows="qa-samples",
        on_refused=audit_refusals("qa-sample", "sample_id"),
    )
    r(
        "GET",
        "/api/qa/samples/{sample_id}",
        get_sample,
        roles=STAFF,
        summary="one sample to inspect (its recordings and transcript; refusals audited)",
        rows="qa-samples",
        on_refused=audit_refusals("qa-sample", "sample_id"),
    )
    r(
        "PUT",
        "/api/qa/samples/{sample_id}/evaluation",
        put_evaluation,
        roles=STAFF,
        summary="submit or edit one's evaluation of a sample (until locked)",
        rows="qa-samples",
        on_refused=audit_refusals("qa-sample", "sample_id"),
    )
    r(
        "POST",
        "/api/qa/samples/{sample_id}/assign",
        assign_sample,
        roles=MANAGERS,
        summary="assign a sample to inspectors (several: calibration)",
    )
    r(
        "GET",
        "/api/qa/evaluations/{evaluation_id}",
        get_evaluation,
        roles=STAFF,
        summary="an evaluation with its edit history (inspectors: their own)",
        rows="evaluations",
    )
    r(
        "POST",
        "/api/qa/evaluations/{evaluation_id}/lock",
        lock_evaluation,
        roles=MANAGERS,
        summary="lock an evaluation",
    )
    r("POST", "/api/qa/draws", create_draw, roles=MANAGERS, summary="run a month's QA draw")
    r(
        "GET",
        "/api/qa/draws/{draw_id}",
        get_draw,
        roles=MANAGERS,
        summary="a draw with its seed and candidate set",
    )
    r(
        "GET",
        "/api/qa/draws/{draw_id}/verify",
        verify_draw,
        roles=MANAGERS,
        summary="re-run a draw from its stored seed and compare",
    )
    r(
        "GET",
        "/api/qa/calibration/{linkedid}",
        calibration,
        roles=MANAGERS,
        summary="inspectors' scores of one call side by side",
    )
    r("GET", "/api/qa/summary", summary, roles=STAFF, summary="monthly QA summary per agent")
    r("GET", "/api/qa/reports/weekly", weekly, roles=STAFF, summary="the week's common defects")
    r("GET", "/api/qa/form", get_form, roles=STAFF, summary="the scoring form")
    r("GET", "/api/qa/inspectors", list_inspectors, roles=MANAGERS, summary="QA inspectors")
    r(
        "GET",
        "/api/recordings/{recording_id}/audio",
        recording_audio,
        roles=STAFF,
        summary="a recording (range requests; audited, refusals too; inspectors: assigned"
        " calls only)",
        rows="recordings",
        on_refused=audit_refusals("recording", "recording_id"),
    )
    r("GET", "/api/audit", audit_log, roles=MANAGERS, summary="the audit log")
