"""Reports over HTTP: `GET /api/reports/{kind}` (JSON or `?format=csv`) and the `/reports` page.

Kinds: `workload` (daily or weekly, per agent or per shift), `complaints`
(weekly classification), `service-level` (by hour), `qa` (the monthly QA
summary). Supervisors and admins see everything; an agent may ask for their
own workload only; a QA inspector for the QA summary only.
"""

from __future__ import annotations

import dataclasses
import functools
import html
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from callcenter.kernel.roles import EVERYONE, MANAGERS, Role
from callcenter.kernel.shifts import OpeningHours, parse_shifts
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.keys import CONFIG, SESSIONS
from callcenter.kernel.web.pages import html_response, page, pick_lang
from callcenter.qa.keys import QA
from callcenter.reports.complaints import complaints
from callcenter.reports.export import filename, to_csv
from callcenter.reports.quality import qa_table
from callcenter.reports.query import KINDS, ReportQuery, parse_query
from callcenter.reports.records import day_bounds, local_zone, select
from callcenter.reports.service_level import DEFAULT_SHORT_ABANDON, service_level_by_hour
from callcenter.reports.store import ReportsRepository
from callcenter.reports.table import Table
from callcenter.reports.workload import workload

STATIC_DIR: Final = Path(__file__).parent / "static"


def _allowed(request: web.Request, query: ReportQuery) -> ReportQuery:
    """Row-level rules: what each role may see of the reports."""
    who = access.principal(request)
    if who.role is Role.AGENT:
        if query.kind != "workload" or query.by != "agent":
            raise ApiError(
                403,
                "report-not-allowed",
                "an agent may see only their own workload per agent",
                kind=query.kind,
            )
        own = access.agent_scope(request) or ""
        access.require_own_agent(request, query.agent or own)
        if not own:
            raise ApiError(403, "no-staff-number", "this agent account has no staff number")
        return dataclasses.replace(query, agent=own)
    if who.role is Role.QA and query.kind != "qa":
        raise ApiError(
            403, "report-not-allowed", "a qa account may see only the QA summary", kind=query.kind
        )
    return query


async def _qa_summary(request: web.Request, month: str) -> dict[str, Any]:
    """The QA module's own monthly summary (`ReportService.summary`, as `/api/qa/summary`)."""
    state = request.app.get(QA)
    if state is None:
        raise ApiError(503, "qa-unavailable", "the QA module is not running", month=month)
    return await state.reports.summary(month)


async def build_report(request: web.Request, query: ReportQuery) -> Table:
    config = request.app[CONFIG]
    if query.kind == "qa":
        assert query.month is not None
        return qa_table(await _qa_summary(request, query.month), query.agent)
    timezone = config.router.timezone
    start, end = day_bounds(query.start, query.end, local_zone(timezone))
    repository = ReportsRepository(request.app[SESSIONS])
    roster = await repository.roster()
    found = await repository.calls(start, end, queue=query.queue, roster=roster)
    calls = select(found, start=start, end=end, agent=query.agent)
    if query.kind == "workload":
        hours = OpeningHours(parse_shifts(config.router.shifts), timezone)
        return workload(
            calls,
            roster,
            categories=config.router.categories,
            timezone=timezone,
            period=query.period,
            by=query.by,
            shift_at=hours.shift_at,
        )
    if query.kind == "complaints":
        return complaints(
            calls, complaint_category=config.router.complaint_category, timezone=timezone
        )
    return service_level_by_hour(
        calls,
        ring=config.ring,
        timezone=timezone,
        short_abandon_seconds=(
            query.short_abandon if query.short_abandon is not None else DEFAULT_SHORT_ABANDON
        ),
    )


async def report(request: web.Request) -> web.StreamResponse:
    timezone = request.app[CONFIG].router.timezone
    today = datetime.now(local_zone(timezone)).date()
    query = parse_query(request.match_info["kind"], request.query, today)
    query = _allowed(request, query)
    table = await build_report(request, query)
    span = [query.month or ""] if query.kind == "qa" else [str(query.start), str(query.end)]
    if query.format == "csv":
        name = filename(table.kind, *span, query.queue or "", query.agent or "")
        return web.Response(
            body=to_csv(table),
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
    filters = {
        "from": str(query.start),
        "to": str(query.end),
        "queue": query.queue,
        "agent": query.agent,
        "period": query.period,
        "by": query.by,
        "month": query.month,
        "timezone": timezone,
    }
    return web.json_response({"filters": filters, **table.to_json()})


_PAGE: Final = {
    "zh-CN": {
        "title": "報表",
        "kind": "報表",
        "workload": "工作量",
        "complaints": "投訴分類(週)",
        "service-level": "服務水平(按小時)",
        "qa": "質檢月度匯總",
        "from": "開始日期",
        "to": "結束日期",
        "queue": "隊列",
        "agent": "工號",
        "period": "週期",
        "day": "每日",
        "week": "每週",
        "by": "分組",
        "by-agent": "按座席",
        "by-shift": "按班次",
        "month": "月份",
        "show": "查詢",
        "csv": "下載 CSV",
    },
    "en": {
        "title": "Reports",
        "kind": "Report",
        "workload": "Workload",
        "complaints": "Complaints (weekly)",
        "service-level": "Service level by hour",
        "qa": "QA monthly summary",
        "from": "From",
        "to": "To",
        "queue": "Queue",
        "agent": "Agent",
        "period": "Period",
        "day": "Daily",
        "week": "Weekly",
        "by": "Per",
        "by-agent": "agent",
        "by-shift": "shift",
        "month": "Month",
        "show": "Show",
        "csv": "Download CSV",
    },
}


def _field(label: str, control: str) -> str:
    return f'<label class="cc-field"><span>{html.escape(label)}</span>{control}</label>'


async def reports_page(request: web.Request) -> web.Response:
    """The filter form and the table; reports.js fetches the JSON and builds the CSV link."""
    lang = pick_lang(request)
    t = _PAGE[lang]
    timezone = request.app[CONFIG].router.timezone
    today = datetime.now(local_zone(timezone)).date()

    def option(value: str, label: str) -> str:
        return f'<option value="{value}">{html.escape(label)}</option>'

    kinds = "".join(option(k, t[k]) for k in KINDS)
    form = (
        '<form id="report-form" class="report-form">'
        + _field(t["kind"], f'<select id="report-kind" name="kind">{kinds}</select>')
        + _field(t["from"], f'<input type="date" id="report-from" name="from" value="{today}">')
        + _field(t["to"], f'<input type="date" id="report-to" name="to" value="{today}">')
        + _field(t["queue"], '<input id="report-queue" name="queue">')
        + _field(t["agent"], '<input id="report-agent" name="agent">')
        + _field(
            t["period"],
            '<select id="report-period" name="period">'
            + option("day", t["day"])
            + option("week", t["week"])
            + "</select>",
        )
        + _field(
            t["by"],
            '<select id="report-by" name="by">'
            + option("agent", t["by-agent"])
            + option("shift", t["by-shift"])
            + "</select>",
        )
        + _field(
            t["month"],
            f'<input type="month" id="report-month" name="month" value="{today:%Y-%m}">',
        )
        + f'<button class="cc-button" type="submit" id="report-show">{html.escape(t["show"])}'
        "</button>"
        + f'<a id="report-csv" class="cc-button cc-plain" href="#">{html.escape(t["csv"])}</a>'
        + "</form>"
    )
    body = (
        '<header class="cc-bar">'
        f'<h1 class="cc-title">{html.escape(t["title"])}</h1>'
        '<span class="cc-langs"><a href="?lang=zh-CN">中文</a><a href="?lang=en">English</a>'
        '</span><span id="cc-user"></span></header>'
        f'<main class="reports">{form}'
        '<div id="report-error" class="cc-error" role="alert" hidden></div>'
        '<div id="report-summary"></div><div id="report-table"></div></main>'
    )
    return html_response(
        page(
            t["title"],
            body,
            lang=lang,
            scripts=["/static/reports/reports.js"],
            styles=["/static/reports/reports.css"],
        )
    )


def setup_report_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="reports")
    r(
        "GET",
        "/api/reports/{kind}",
        report,
        roles=EVERYONE,
        summary="workload, complaints, service-level, qa reports; ?format=csv"
        " (agents: own workload; qa: the QA summary)",
    )
    r("GET", "/reports", reports_page, roles=MANAGERS, summary="the reports page", page=True)
    access.static(
        app, "/static/reports", str(STATIC_DIR), roles=MANAGERS, summary="the reports page's files"
    )
